// The one place engine errors become exit codes and messages on stderr.
import { EngineError } from '../errors.js';

/** docker's convention: 125 the engine failed, 126 cannot invoke, 127 not found. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof EngineError) {
    if (err.code === 'COMMAND_NOT_FOUND') return 127;
    if (err.code === 'COMMAND_NOT_EXECUTABLE') return 126;
  }
  return 125;
}

/** Print an error for a person and set the exit code. */
export function reportError(err: unknown): number {
  const code = exitCodeFor(err);
  if (err instanceof EngineError) process.stderr.write(`codex32: ${err.message} [${err.code}]\n`);
  else process.stderr.write(`codex32: ${(err as Error)?.stack ?? String(err)}\n`);
  return code;
}
