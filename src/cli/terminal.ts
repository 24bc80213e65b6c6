// The caller's terminal joined to a container's: raw mode, window size, input, output, Ctrl-P Ctrl-Q.
import type { ContainerEngine } from '../engine/engine.js';
import { EngineError } from '../errors.js';
import type { AttachSession } from '../runtime/attach.js';

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
  let done = false;
  let full = false;
  session.on('output', ({ stream, data }) => {
    const out = stream === 'stdout' ? process.stdout : process.stderr;
    if (out.write(data) || full) return;
    // our output is full: take no more until it drains (the supervisor then holds the container back)
    full = true;
    session.pause();
    out.once('drain', () => {
      full = false;
      session.resume();
    });
  });
  session.resume();
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
      if (!detached && !done) stdin.resume();
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
    done = true;
    process.stdout.off('resize', onResize);
    if (opts.interactive) {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      if (rawTty) stdin.setRawMode(false);
      // input the container never read (it ended first) must not keep this process alive
      stdin.destroy();
    }
  }
  return detached ? 'detached' : 'ended';
}

/**
 * Stay attached until the container's process ends (resolves to its exit code) or the user detaches
 * (resolves to undefined, after saying how to come back).
 */
export async function stayAttached(engine: ContainerEngine, ref: string, session: AttachSession, opts: RelayOptions): Promise<number | undefined> {
  if ((await relay(session, opts)) === 'detached') {
    process.stderr.write(`${opts.tty ? '\r\n' : ''}codex32: detached from ${ref}; it keeps running. \`codex32 attach ${ref}\` reattaches.\n`);
    return undefined;
  }
  return engine.wait(ref);
}

/** docker's rule: -it needs a terminal to read from. */
export function requireTerminal(opts: RelayOptions): void {
  if (opts.tty && opts.interactive && !process.stdin.isTTY)
    throw new EngineError('INVALID_CONFIG', 'Expected a terminal on stdin for -it, got a pipe or a file. Use -i alone to pipe input, e.g. `echo hi | codex32 run -i host cat`.');
}
