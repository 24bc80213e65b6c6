// pino logger factory: one root logger for the process, a child per container. pino is loaded only when
// a line at an enabled level is actually written: loading it costs ~15 ms of every CLI start.
import { createRequire } from 'node:module';
import type { Logger } from 'pino';

/** The part of pino's interface the engine uses. */
export interface Log {
  debug(obj: object | string, msg?: string): void;
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
}

const LEVELS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };

let root: Logger | undefined;

/** The process-wide structured logger; writes to stderr so it never mixes with command output. */
export function getLogger(): Logger {
  if (!root) {
    const { pino, destination } = createRequire(import.meta.url)('pino') as typeof import('pino');
    root = pino({ level: process.env.LOG_LEVEL ?? 'warn', base: { pid: process.pid } }, destination(2));
  }
  return root;
}

/** A child logger that tags every line with the container it concerns; pino loads on its first enabled line. */
export function containerLogger(id: string, name: string): Log {
  const threshold = LEVELS[process.env.LOG_LEVEL ?? 'warn'] ?? LEVELS.warn!;
  let child: Logger | undefined;
  const at = (level: 'debug' | 'info' | 'warn' | 'error') => (obj: object | string, msg?: string) => {
    if (LEVELS[level]! < threshold) return;
    child ??= getLogger().child({ container: id.slice(0, 12), name });
    if (typeof obj === 'string') child[level](obj);
    else child[level](obj, msg);
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
