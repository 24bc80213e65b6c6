// pino logger factory: one root logger for the process, a child per container.
import { destination, pino, type Logger } from 'pino';

let root: Logger | undefined;

/** The process-wide structured logger; writes to stderr so it never mixes with command output. */
export function getLogger(): Logger {
  root ??= pino({ level: process.env.LOG_LEVEL ?? 'warn', base: { pid: process.pid } }, destination(2));
  return root;
}

/** A child logger that tags every line with the container it concerns. */
export function containerLogger(id: string, name: string): Logger {
  return getLogger().child({ container: id.slice(0, 12), name });
}
