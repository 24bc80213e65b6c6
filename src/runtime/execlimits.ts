// The kernel's limits on what execve(2) passes to the container's command: its arguments and environment.
import { readFileSync } from 'node:fs';
import { EngineError } from '../errors.js';

/** One argument or environment string, its NUL included (the kernel's MAX_ARG_STRLEN, 32 pages). */
export const MAX_ARG_STRLEN = 32 * 4096;
/** The floor of the total, whatever the stack limit (the kernel's ARG_MAX, 32 pages). */
const ARG_MAX_FLOOR = 32 * 4096;
/** The ceiling of the total: three quarters of the kernel's _STK_LIM (8 MiB). */
const ARG_CEILING = 6 * 1024 * 1024;
/** Room kept for the program's path, which the kernel copies too, once found on PATH. */
const FILENAME_ROOM = 4096;

/** The soft stack limit the supervisor (and so the container's command) inherits from this process. */
function stackLimit(): number {
  try {
    const m = /^Max stack size\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (m && m[1] !== 'unlimited') return Number(m[1]);
  } catch {
    /* no /proc: the usual default below */
  }
  return 8 * 1024 * 1024;
}

/** The bytes execve accepts for argument and environment strings with their pointers, as fs/exec.c computes it. */
export function execLimit(stack = stackLimit()): number {
  return Math.max(Math.min(ARG_CEILING, Math.floor(stack / 4)), ARG_MAX_FLOOR);
}

/**
 * Refuse, at create, a command and environment the kernel's execve would refuse at start (E2BIG): each
 * string at most MAX_ARG_STRLEN, all of them with their pointers within execLimit().
 */
export function checkExecSize(argv: string[], env: Record<string, string>, limit = execLimit()): void {
  const strings = [...argv.map((a) => ({ what: 'argument', s: a })), ...Object.entries(env).map(([k, v]) => ({ what: `environment variable ${k}`, s: `${k}=${v}` }))];
  let total = FILENAME_ROOM;
  for (const { what, s } of strings) {
    const bytes = Buffer.byteLength(s) + 1;
    if (bytes > MAX_ARG_STRLEN)
      throw new EngineError('INVALID_CONFIG', `Expected each command argument and environment entry to be at most ${MAX_ARG_STRLEN - 1} bytes (the kernel's limit for one), got ${bytes - 1} bytes for the ${what}. Put large values in a file (a volume) and pass its path instead.`);
    total += bytes + 8; // the string and its pointer
  }
  if (total > limit)
    throw new EngineError('INVALID_CONFIG', `Expected the command and environment to take at most ${limit} bytes (the kernel's execve limit here: a quarter of the stack limit), got ${total} bytes in ${argv.length} arguments and ${Object.keys(env).length} environment variables. Pass fewer or shorter -e values, e.g. put them in a file (a volume) the command reads.`);
}
