// Every process the engine starts goes through here. libuv forks this whole process on the event
// loop's thread for each spawn: page tables and copy-on-write faults of a large embedding process held
// its loop for milliseconds (tens under load) per ip, nft, copy or exec helper. Where the launcher runs
// (launcher.ts: a library, the service), it spawns the command instead and its stdio comes back on
// sockets; a CLI, a command wanting this process's own stdio, or a launcher that cannot start, spawns here.
import { EventEmitter } from 'node:events';
import { constants } from 'node:os';
import type { PassThrough, Readable, Writable } from 'node:stream';
import type { ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { nodeStream, spawn } from '../lazy.js';
import { commandThrough, type CommandHandle, type CommandReport } from './launcher.js';
import { shimPath } from './supervisor.js';

export type Stdio = 'pipe' | 'ignore' | 'inherit';

export interface SpawnOptions {
  /** fds 0-3 (missing ones 'ignore'); fd 3 piped is written by this process */
  stdio?: readonly Stdio[];
  /** its own session, and not waited for: unref it */
  detached?: boolean;
  /** its whole environment (default: this process's) */
  env?: NodeJS.ProcessEnv;
}

/** The part of a ChildProcess the engine uses: what both a spawned child and one the launcher spawned give. */
export interface SpawnedProcess extends EventEmitter {
  readonly pid?: number | undefined;
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  readonly stdio: readonly (Readable | Writable | null | undefined)[];
  readonly exitCode: number | null;
  readonly signalCode: NodeJS.Signals | null;
  kill(signal?: NodeJS.Signals): boolean;
  ref(): void;
  unref(): void;
}

const signalNames = Object.fromEntries(Object.entries(constants.signals).map(([k, v]) => [v, k as NodeJS.Signals]));
const errnoNames = Object.fromEntries(Object.entries(constants.errno).map(([k, v]) => [v, k]));

/** A command the launcher spawned, with the events and streams of a ChildProcess. */
class LaunchedProcess extends EventEmitter implements SpawnedProcess {
  pid: number | undefined;
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  readonly stdin: PassThrough | null;
  readonly stdout: PassThrough | null;
  readonly stderr: PassThrough | null;
  readonly stdio: (PassThrough | null)[];
  ref = (): void => this.setRef(true);
  unref = (): void => this.setRef(false);
  private handle: CommandHandle | undefined;
  /** spawned here after all: the launcher died before spawning it */
  private fallback: ChildProcess | undefined;
  private held = true;
  private exited = false;
  private openStreams = 0;
  private done = false;

  constructor(
    private readonly file: string,
    private readonly args: readonly string[],
    private readonly o: SpawnOptions & { stdio: Stdio[] },
  ) {
    super();
    this.stdio = o.stdio.map((k) => (k === 'pipe' ? new (nodeStream().PassThrough)() : null));
    [this.stdin, this.stdout, this.stderr] = this.stdio as [PassThrough | null, PassThrough | null, PassThrough | null];
    // 'close' once it has exited and its output streams are closed, as a ChildProcess
    for (const s of [this.stdout, this.stderr]) if (s) (this.openStreams++, s.once('close', () => (this.openStreams--, this.maybeClose())));
  }

  /** What the launcher's lines about it do. */
  report(): CommandReport {
    const child = this; // eslint-disable-line @typescript-eslint/no-this-alias
    return {
      get ref() {
        return child.held && !child.done;
      },
      onSpawn: (pid) => ((this.pid = pid), this.emit('spawn')),
      onError: (errno) => this.failed(errno),
      onExit: (code, signum) => this.ended(code, code === null ? (signalNames[signum] ?? 'SIGKILL') : null),
      onLost: () => this.lost(),
      onStream: (fd, s) => this.connect(fd, s),
    };
  }

  attach(handle: CommandHandle): void {
    this.handle = handle;
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): boolean {
    if (this.exited) return false;
    if (this.fallback) return this.fallback.kill(signal);
    if (!this.handle) return false;
    this.handle.signal(constants.signals[signal]);
    return true;
  }

  private setRef(on: boolean): void {
    this.held = on;
    this.handle?.refresh();
    if (this.fallback) on ? this.fallback.ref() : this.fallback.unref();
  }

  /** One of its fds connected: its bytes go to (or come from) the stream given out at spawn. */
  private connect(fd: number, s: Socket): void {
    const stream = this.stdio[fd];
    if (!stream) return void s.destroy();
    if (fd === 0 || fd === 3) {
      stream.pipe(s);
      s.on('error', (e) => stream.destroy(e)); // the command closed it unread: as a pipe's EPIPE
      s.resume(); // nothing comes this way; reading sees the command's end
    } else {
      s.pipe(stream);
      s.on('error', () => stream.end());
      stream.once('close', () => s.destroy()); // given up by its reader
    }
  }

  private failed(errno: number): void {
    const code = errnoNames[errno] ?? `E${errno}`;
    const err = Object.assign(new Error(`spawn ${this.file} ${code}`), { errno: -errno, code, syscall: `spawn ${this.file}`, path: this.file, spawnargs: [...this.args] });
    this.done = true;
    this.exited = true;
    for (const s of this.stdio) s?.destroy();
    this.emit('error', err);
  }

  private ended(code: number | null, signal: NodeJS.Signals | null): void {
    this.exitCode = code;
    this.signalCode = signal;
    this.exited = true;
    this.emit('exit', code, signal);
    // as a ChildProcess: output nobody reads is drained once it exited, so that 'close' comes
    process.nextTick(() => {
      for (const st of [this.stdout, this.stderr]) if (st && st.readableFlowing === null) st.resume();
    });
    this.maybeClose();
  }

  /**
   * The launcher died without saying how it ended: a command it ran is reported as killed, one it had
   * not spawned yet is spawned here, its streams relayed to those given out.
   */
  private lost(): void {
    if (this.pid === undefined) return this.direct();
    for (const s of this.stdio) s?.destroy();
    this.ended(null, 'SIGKILL');
  }

  private direct(): void {
    const c = (this.fallback = spawn(this.file, this.args, { stdio: this.o.stdio, detached: this.o.detached, env: this.o.env }));
    c.on('spawn', () => ((this.pid = c.pid), this.emit('spawn')));
    c.on('error', (e) => ((this.done = this.exited = true), this.emit('error', e)));
    c.on('exit', (code, signal) => this.ended(code, signal));
    this.stdio.forEach((st, fd) => {
      const theirs = c.stdio[fd];
      if (!st || !theirs) return;
      theirs.on('error', (e) => st.destroy(e));
      if (fd === 0 || fd === 3) st.pipe(theirs as Writable);
      else (theirs as Readable).pipe(st);
    });
    if (!this.held) c.unref();
  }

  private maybeClose(): void {
    if (!this.exited || this.openStreams > 0 || this.done) return;
    this.done = true;
    this.handle?.refresh();
    this.emit('close', this.exitCode, this.signalCode);
  }
}

/** The supervisor binary the launcher runs as; none when it is missing (spawn here: a host command needs no supervisor). */
function launcherBin(): string | undefined {
  try {
    return shimPath();
  } catch {
    return undefined;
  }
}

/**
 * Start file with args: through the launcher where it runs, else spawned from this process. Either way
 * a ChildProcess's events ('spawn', 'error', 'exit', 'close') and streams; its pid is known at 'spawn'.
 */
export function spawnProcess(file: string, args: readonly string[], o: SpawnOptions = {}): SpawnedProcess {
  const stdio = [0, 1, 2, 3].map((fd) => o.stdio?.[fd] ?? 'ignore');
  if (!stdio.includes('inherit')) {
    const child = new LaunchedProcess(file, args, { ...o, stdio });
    const pipes = stdio.map((s) => s === 'pipe') as [boolean, boolean, boolean, boolean];
    const handle = launcherBin() !== undefined && commandThrough(launcherBin()!, { argv: [file, ...args], pipes, detached: !!o.detached, env: o.env }, child.report());
    if (handle) {
      child.attach(handle);
      if (o.detached) child.unref();
      return child;
    }
  }
  const used = o.stdio?.length && o.stdio.length > 3 ? stdio : stdio.slice(0, 3);
  return spawn(file, args, { stdio: used as Stdio[], detached: o.detached, env: o.env });
}
