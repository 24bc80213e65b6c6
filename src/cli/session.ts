// What the CLI's entry (main.ts) needs of a command's session, without loading the engine: main stays
// small, and a command's module brings the engine only when that command runs.

let closer: (() => void) | undefined;
let settler: (() => Promise<void>) | undefined;
let pipeClosed: (() => Promise<void>) | undefined;
let closing: Promise<void> | undefined;

/** Record how to settle and close the engine this process opened (context.ts calls it when it opens one). */
export function onEngine(close: () => void, settle: () => Promise<void>): void {
  closer = close;
  settler = settle;
}

/** Finish what the engine began in the background (auto-removals it found due) before the CLI ends. */
export async function settleEngine(): Promise<void> {
  await settler?.();
}

/** Close the engine if one was opened. */
export function closeEngine(): void {
  const fn = closer;
  closer = settler = undefined;
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
