// The client side of a container's attach socket (RUNDIR/attach.sock, served by its supervisor).
// Frames both ways are [type u8][length u32 big-endian][payload]:
//   to the supervisor:   0 input bytes · 1 end of input · 2 window size (rows u16, cols u16)
//   from the supervisor: 1 stdout bytes · 2 stderr bytes (a terminal's output is all stdout)
// The supervisor closes the connection when the container's process ends.
import { EventEmitter } from 'node:events';
import { closeSync, openSync } from 'node:fs';
import { connect } from '../lazy.js';
import type { Socket } from 'node:net';
import { EngineError } from '../errors.js';
import { RUN_FILES } from './contract.js';

export const ATTACH_SOCKET = RUN_FILES.attachSock;
const HEADER = 5;
const FRAME_INPUT = 0;
const FRAME_EOF = 1;
const FRAME_RESIZE = 2;

export interface AttachOutput {
  stream: 'stdout' | 'stderr';
  data: Buffer;
}

/**
 * One connection to a container's terminal or standard streams. Output is held (the supervisor holds
 * the container's back) until the consumer, listening for 'output', calls resume().
 */
export class AttachSession extends EventEmitter<{ output: [AttachOutput]; close: [] }> {
  private pending: Buffer = Buffer.alloc(0);
  private closed = false;

  constructor(private readonly socket: Socket) {
    super();
    socket.pause(); // nothing is emitted before someone listens
    socket.on('data', (d: Buffer) => this.receive(d));
    socket.on('close', () => this.finish());
    socket.on('error', () => this.finish());
  }

  /** Send bytes to the container's input; resolves once the socket took them (backpressure). */
  input(data: Buffer): Promise<void> {
    return this.send(FRAME_INPUT, data);
  }

  /** End the container's input: it reads end of file. */
  endInput(): Promise<void> {
    return this.send(FRAME_EOF, Buffer.alloc(0));
  }

  /** Set the terminal's window size (rows, columns). */
  resize(rows: number, cols: number): Promise<void> {
    const p = Buffer.alloc(4);
    p.writeUInt16BE(Math.max(1, Math.min(rows, 0xffff)));
    p.writeUInt16BE(Math.max(1, Math.min(cols, 0xffff)), 2);
    return this.send(FRAME_RESIZE, p);
  }

  /** Stop taking output for a while (the caller's output is full): the supervisor holds the container's back. */
  pause(): void {
    this.socket.pause();
  }

  /** Start (or go on) taking output. */
  resume(): void {
    this.socket.resume();
  }

  /** Leave the container running and drop this connection. */
  detach(): void {
    this.socket.destroy();
    this.finish();
  }

  /** Resolves when the connection ends (the container's process ended, or detach). */
  closedPromise(): Promise<void> {
    return this.closed ? Promise.resolve() : new Promise((r) => this.once('close', r));
  }

  private send(type: number, payload: Buffer): Promise<void> {
    if (this.closed) return Promise.resolve();
    const head = Buffer.alloc(HEADER);
    head.writeUInt8(type);
    head.writeUInt32BE(payload.length, 1);
    return new Promise((resolve) => {
      if (this.socket.write(Buffer.concat([head, payload]))) resolve();
      else {
        const done = () => {
          this.socket.off('drain', done);
          this.off('close', done);
          resolve();
        };
        this.socket.on('drain', done);
        this.once('close', done);
      }
    });
  }

  private receive(d: Buffer): void {
    this.pending = this.pending.length ? Buffer.concat([this.pending, d]) : d;
    while (this.pending.length >= HEADER) {
      const len = this.pending.readUInt32BE(1);
      if (this.pending.length < HEADER + len) break;
      const type = this.pending.readUInt8(0);
      const data = this.pending.subarray(HEADER, HEADER + len);
      this.pending = this.pending.subarray(HEADER + len);
      if (type === 1 || type === 2) this.emit('output', { stream: type === 1 ? 'stdout' : 'stderr', data });
    }
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.emit('close');
  }
}

/** Connect to the attach socket in a container's run directory. */
export function connectAttach(runDir: string, container: string): Promise<AttachSession> {
  // a socket path is limited to 108 bytes; reach it through a descriptor of its directory instead
  const dirFd = openSync(runDir, 'r');
  return new Promise((resolve, reject) => {
    const s = connect(`/proc/self/fd/${dirFd}/${ATTACH_SOCKET}`);
    s.once('connect', () => {
      closeSync(dirFd);
      s.removeAllListeners('error');
      resolve(new AttachSession(s));
    });
    s.once('error', (cause: NodeJS.ErrnoException) => {
      closeSync(dirFd);
      reject(new EngineError('RUNTIME_FAILED', `Cannot attach to ${container}: its supervisor does not answer (${cause.code ?? cause.message}).`, { cause, context: { container } }));
    });
  });
}
