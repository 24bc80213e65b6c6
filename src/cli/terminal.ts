// The caller's terminal joined to a container's: raw mode, window size, input, output, Ctrl-P Ctrl-Q.
import type { AttachSession } from '../runtime/attach.js';
import { writeOut } from './context.js';

const CTRL_P = 0x10;
const CTRL_Q = 0x11;

/**
 * Splits input at docker's detach sequence, Ctrl-P Ctrl-Q. A Ctrl-P is held back until the next
 * byte shows whether it starts the sequence; anything else passes through unchanged.
 */
export class DetachKeys {
  private held = false;

  /** The bytes to forward, and whether the sequence was typed. */
  feed(chunk: Buffer): { forward: Buffer; detach: boolean } {
    const out: number[] = [];
    for (const b of chunk) {
      if (this.held) {
        this.held = false;
        if (b === CTRL_Q) return { forward: Buffer.from(out), detach: true };
        out.push(CTRL_P);
      }
      if (b === CTRL_P) this.held = true;
      else out.push(b);
    }
    return { forward: Buffer.from(out), detach: false };
  }
}

export interface RelayOptions {
  /** the container has a terminal: raw mode, window size, detach keys */
  tty: boolean;
  /** forward the caller's input (docker's -i) */
  interactive: boolean;
}

/**
 * Relay the caller's stdio to an attach session until the container's process ends ('ended') or
 * the user types Ctrl-P Ctrl-Q ('detached'). The caller's terminal is restored either way.
 */
export async function relay(session: AttachSession, opts: RelayOptions): Promise<'ended' | 'detached'> {
  const stdin = process.stdin;
  const rawTty = opts.tty && opts.interactive && stdin.isTTY === true;
  let detached = false;
  session.on('output', ({ stream, data }) => void writeOut(stream === 'stdout' ? process.stdout : process.stderr, data));
  const onResize = () => {
    if (process.stdout.isTTY) void session.resize(process.stdout.rows, process.stdout.columns);
  };
  if (opts.tty) {
    onResize();
    process.stdout.on('resize', onResize);
  }
  const keys = new DetachKeys();
  const onData = async (chunk: Buffer) => {
    const { forward, detach } = rawTty ? keys.feed(chunk) : { forward: chunk, detach: false };
    if (forward.length) {
      stdin.pause(); // backpressure: read no more than the container takes
      await session.input(forward);
      if (!detached) stdin.resume();
    }
    if (detach) {
      detached = true;
      session.detach();
    }
  };
  const onEnd = () => void session.endInput();
  if (opts.interactive) {
    if (rawTty) stdin.setRawMode(true);
    stdin.on('data', onData);
    stdin.on('end', onEnd);
    stdin.resume();
  }
  try {
    await session.closedPromise();
  } finally {
    process.stdout.off('resize', onResize);
    if (opts.interactive) {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      stdin.pause();
      if (rawTty) stdin.setRawMode(false);
    }
  }
  return detached ? 'detached' : 'ended';
}
