// Shared CLI plumbing: the engine for this invocation and the wrapper that maps errors to exit codes.
import type { Command } from 'commander';
import { ContainerEngine } from '../engine/engine.js';
import { isClosedPipe, reportError } from './errors.js';

let engine: ContainerEngine | undefined;

/** The engine for this CLI process, opened on first use with the global --storage. */
export function engineFor(cmd: Command): ContainerEngine {
  engine ??= new ContainerEngine(storageOption(cmd));
  return engine;
}

/** The global --storage as engine options (empty: the settings' default). */
export function storageOption(cmd: Command): { storageDir?: string } {
  const storage = (cmd.optsWithGlobals() as { storage?: string }).storage;
  return storage ? { storageDir: storage } : {};
}

let pipeClosed: (() => Promise<void>) | undefined;

/**
 * What to finish before exiting when the reader of our output goes away (`run --rm ... | head -1`): by
 * default nothing, the command just ends; `run` stops and removes its container first.
 */
export function onClosedPipe(fn: (() => Promise<void>) | undefined): void {
  pipeClosed = fn;
}

let closing: Promise<void> | undefined;

/** Run the registered closed-pipe work once, however many writes fail meanwhile (its errors are ignored: we exit quietly). */
export function finishClosedPipe(): Promise<void> {
  closing ??= (pipeClosed?.() ?? Promise.resolve()).catch(() => undefined);
  return closing;
}

/** Finish what the engine began in the background (auto-removals it found due) before the CLI ends. */
export async function settleEngine(): Promise<void> {
  await engine?.settle();
}

/** Close the engine if one was opened. */
export function closeEngine(): void {
  engine?.close();
  engine = undefined;
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
