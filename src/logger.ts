// pino logger factory: one root logger for the process, a child per container. pino is loaded on first use.
import { createRequire } from 'node:module';
import type { Logger } from 'pino';

let root: Logger | undefined;

/** The process-wide structured logger; writes to stderr so it never mixes with command output. */
export function getLogger(): Logger {
  if (!root) {
    const { pino, destination } = createRequire(import.meta.url)('pino') as typeof import('pino');
    root = pino({ level: process.env.LOG_LEVEL ?? 'warn', base: { pid: process.pid } }, destination(2));
  }
  return root;
}

/** A child logger that tags every line with the container it concerns. */
export function containerLogger(id: string, name: string): Logger {
  return getLogger().child({ container: id.slice(0, 12), name });
}
