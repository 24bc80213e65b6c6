// Engine settings from the environment (and .env), validated once by zod with a clear message.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { EngineError } from '../errors.js';
import { DEFAULT_ID_RANGES, MAX_ID_RANGES } from '../state/idranges.js';
import { ISOLATION_TYPES, type IsolationType } from './schema.js';

const SettingsSchema = z.object({
  CONTAINER_STORAGE_DIR: z.string().min(1).optional(),
  CONTAINER_ISOLATION_LEVEL: z.enum(ISOLATION_TYPES).default('standard'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('warn'),
  CODEX32_HOST: z.string().min(1).default('127.0.0.1'),
  // digits only: Number() would also take 1e3, 0x10 and ' 80 '
  CODEX32_PORT: z.string().regex(/^\d{1,5}$/, 'a port from 0 to 65535').transform(Number).pipe(z.number().max(65535, 'a port from 0 to 65535')).default('8032'),
  CODEX32_TOKEN: z.string().optional(),
  // how many 65536-id host ranges strict containers draw from (one each, from uid 100000 up)
  CODEX32_STRICT_ID_RANGES: z.string().regex(/^\d{1,5}$/, `a count from 1 to ${MAX_ID_RANGES}`).transform(Number)
    .pipe(z.number().min(1, `a count from 1 to ${MAX_ID_RANGES}`).max(MAX_ID_RANGES, `a count from 1 to ${MAX_ID_RANGES}`)).default(String(DEFAULT_ID_RANGES)),
});

export interface Settings {
  storageDir: string;
  isolation: IsolationType;
  logLevel: string;
  host: string;
  port: number;
  token?: string;
  /** ranges in strict containers' host uid pool */
  idRanges?: number;
}

let dotenvLoaded = false;

/** Load ./.env once (values already in the environment win), as Node's own loader does. */
function loadDotenv(): void {
  if (dotenvLoaded) return;
  dotenvLoaded = true;
  if (existsSync('.env')) process.loadEnvFile('.env');
}

/** The default storage directory: system-wide for root, per-user otherwise. */
export function defaultStorageDir(): string {
  return process.getuid?.() === 0 ? '/var/lib/codex32' : join(homedir(), '.local', 'share', 'codex32');
}

/** Read and validate settings; a bad value names the variable, the value and what is expected. */
export function loadSettings(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Settings> = {}): Settings {
  if (env === process.env) loadDotenv();
  // an empty value (KEY= in .env) means unset, not an empty path or port
  const parsed = SettingsSchema.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '')));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = String(issue.path[0]);
    throw new EngineError('INVALID_CONFIG', `Expected ${key} to be valid (${issue.message}), got \`${env[key]}\``, {
      context: { variable: key },
    });
  }
  const s = parsed.data;
  return {
    storageDir: overrides.storageDir ?? s.CONTAINER_STORAGE_DIR ?? defaultStorageDir(),
    isolation: overrides.isolation ?? s.CONTAINER_ISOLATION_LEVEL,
    logLevel: s.LOG_LEVEL,
    host: overrides.host ?? s.CODEX32_HOST,
    port: overrides.port ?? s.CODEX32_PORT,
    token: overrides.token ?? s.CODEX32_TOKEN,
    idRanges: overrides.idRanges ?? s.CODEX32_STRICT_ID_RANGES,
  };
}
