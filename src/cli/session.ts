// What the CLI's entry (main.ts) needs of a command's session, without loading the engine: main stays
// small, and a command's module brings the engine only when that command runs.

let closer: (() => void) | undefined;
let pipeClosed: (() => Promise<void>) | undefined;
let closing: Promise<void> | undefined;

/** Record how to close the engine this process opened (context.ts calls it when it opens one). */
export function onCloseEngine(fn: (() => void) | undefined): void {
  closer = fn;
}

/** Close the engine if one was opened. */
export function closeEngine(): void {
  const fn = closer;
  closer = undefined;
  fn?.();
}

/**
 * What to finish before exiting when the reader of our output goes away (`run --rm ... | head -1`): by
 * default nothing, the command just ends; `run` stops and removes its container first.
 */
export function onClosedPipe(fn: (() => Promise<void>) | undefined): void {
  pipeClosed = fn;
}

/** Run the registered closed-pipe work once, however many writes fail meanwhile (its errors are ignored: we exit quietly). */
export function finishClosedPipe(): Promise<void> {
  closing ??= (pipeClosed?.() ?? Promise.resolve()).catch(() => undefined);
  return closing;
}
