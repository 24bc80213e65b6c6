// Shared CLI plumbing: the engine for this invocation and the wrapper that maps errors to exit codes.
import type { Command } from 'commander';
import { ContainerEngine } from '../engine/engine.js';
import { isClosedPipe, reportError } from './errors.js';
import { onEngine } from './session.js';

export { closeEngine, finishClosedPipe, onClosedPipe, settleEngine } from './session.js';

let engine: ContainerEngine | undefined;

/** The engine for this CLI process, opened on first use with the global --storage. */
export function engineFor(cmd: Command): ContainerEngine {
  if (!engine) {
    const opened = new ContainerEngine(storageOption(cmd));
    engine = opened;
    onEngine(
      () => {
        engine = undefined;
        opened.close();
      },
      () => opened.settle(),
    );
  }
  return engine;
}

/** The global --storage as engine options (empty: the settings' default). */
export function storageOption(cmd: Command): { storageDir?: string } {
  const storage = (cmd.optsWithGlobals() as { storage?: string }).storage;
  return storage ? { storageDir: storage } : {};
}

/** Apply fn to each ref; report each failure and keep going, like docker (exit 125 if any failed). */
export async function each(refs: string[], fn: (ref: string) => Promise<void>): Promise<void> {
  let failed = 0;
  for (const ref of refs) {
    try {
      await fn(ref);
    } catch (e) {
      failed = reportError(e);
    }
  }
  if (failed) process.exitCode = failed;
}

/** Wrap an action: any error is reported once and becomes the exit code. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void> | void): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      process.exitCode = isClosedPipe(err) ? 0 : reportError(err);
    }
  };
}

/** Write to stdout, waiting when the pipe is full so nothing is lost or buffered without bound. */
export function writeOut(stream: NodeJS.WriteStream, data: string | Uint8Array): Promise<void> | void {
  if (!stream.write(data)) return new Promise((r) => stream.once('drain', () => r()));
}

/** Write one log record to stdout or stderr as the container wrote it (a full record ends its line). */
export function writeRecord(rec: { stream: 'stdout' | 'stderr'; full: boolean; data: Buffer }, prefix?: string): Promise<void> | void {
  const parts = prefix ? [Buffer.from(prefix), rec.data] : [rec.data];
  if (rec.full) parts.push(Buffer.from('\n'));
  return writeOut(rec.stream === 'stdout' ? process.stdout : process.stderr, Buffer.concat(parts));
}
