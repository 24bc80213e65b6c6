// Parsers for the human forms users type (sizes, durations, restart policies, volumes, env).
import { expected } from '../errors.js';

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** Parse a size such as 512k, 64m or 1g into bytes. */
export function parseSize(flag: string, value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([bkmgt]?)i?b?$/i.exec(value.trim());
  if (!m) throw expected(flag, 'a size such as 64m', value);
  const bytes = Math.floor(Number(m[1]) * SIZE_UNITS[m[2].toLowerCase()]);
  if (!Number.isFinite(bytes) || bytes <= 0) throw expected(flag, 'a size such as 64m', value);
  return bytes;
}

/** Parse a positive whole number. */
export function parsePositiveInt(flag: string, value: string, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^\d+$/.test(value.trim())) throw expected(flag, `a whole number from 1 to ${max}`, value);
  const n = Number(value);
  if (n < 1 || n > max) throw expected(flag, `a whole number from 1 to ${max}`, value);
  return n;
}

/** Parse a CPU count such as 0.5 or 2. */
export function parseCpus(flag: string, value: string): number {
  const n = Number(value);
  if (!/^\d*\.?\d+$/.test(value.trim()) || !Number.isFinite(n) || n <= 0 || n > 1024)
    throw expected(flag, 'a number of CPUs such as 0.5 or 2', value);
  return n;
}

/** Parse seconds, whole or fractional, or a duration such as 500ms, 30s, 5m, 1h. */
export function parseSeconds(flag: string, value: string): number {
  const m = /^(\d*\.?\d+)(ms|s|m|h)?$/.exec(value.trim());
  if (!m) throw expected(flag, 'a duration such as 10, 30s or 5m', value);
  const unit = { ms: 0.001, s: 1, m: 60, h: 3600 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  return Number(m[1]) * unit;
}

/** Parse a point in time: RFC 3339, a unix timestamp, or a relative duration such as 10m (ago). */
export function parseTime(flag: string, value: string, now = Date.now()): number {
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.floor(Number(v) * 1000);
  if (/^\d*\.?\d+(ms|s|m|h)$/.test(v)) return now - parseSeconds(flag, v) * 1000;
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw expected(flag, 'a time such as 2026-01-02T15:04:05Z, a unix timestamp or 10m', value);
  return t;
}

export type RestartName = 'no' | 'on-failure' | 'always' | 'unless-stopped';

/** Parse no | on-failure[:N] | always | unless-stopped. */
export function parseRestart(value: string): { name: RestartName; maxRetries: number } {
  const m = /^(no|on-failure|always|unless-stopped)(?::(\d+))?$/.exec(value.trim());
  if (!m || (m[2] !== undefined && m[1] !== 'on-failure'))
    throw expected('`--restart`', 'one of no, on-failure[:N], always, unless-stopped', value);
  return { name: m[1] as RestartName, maxRetries: m[2] ? Number(m[2]) : 0 };
}

/** Parse HOST:CONTAINER[:ro|rw] into a volume. */
export function parseVolume(value: string): { source: string; target: string; readOnly: boolean } {
  const parts = value.split(':');
  if (parts.length < 2 || parts.length > 3 || !parts[0] || !parts[1] || (parts[2] && !['ro', 'rw'].includes(parts[2])))
    throw expected('`-v`', 'HOST:CONTAINER or HOST:CONTAINER:ro', value);
  return { source: parts[0], target: parts[1], readOnly: parts[2] === 'ro' };
}

/** Parse K=V (or K alone, taking the value from the caller's environment). */
export function parseEnvPair(value: string, from: NodeJS.ProcessEnv = process.env): [string, string] {
  const i = value.indexOf('=');
  const key = i < 0 ? value : value.slice(0, i);
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw expected('`-e`', 'KEY=VALUE with a KEY of letters, digits and _', value);
  return [key, i < 0 ? (from[key] ?? '') : value.slice(i + 1)];
}

/** Parse the lines of an env file: K=V, comments and blank lines skipped. */
export function parseEnvFile(text: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    out.push(parseEnvPair(line.replace(/^export\s+/, ''), {}));
  }
  return out;
}

/** Parse UID[:GID]. */
export function parseUser(value: string): { uid: number; gid: number } {
  const m = /^(\d+)(?::(\d+))?$/.exec(value.trim());
  if (!m) throw expected('`--user`', 'UID or UID:GID as numbers', value);
  const uid = Number(m[1]);
  return { uid, gid: m[2] !== undefined ? Number(m[2]) : uid };
}

const SIGNALS: Record<string, number> = {
  HUP: 1, INT: 2, QUIT: 3, KILL: 9, USR1: 10, USR2: 12, TERM: 15, CONT: 18, STOP: 19, WINCH: 28,
};

/** Parse a signal name (TERM, SIGTERM) or number into its number. */
export function parseSignal(value: string): number {
  const v = value.trim().toUpperCase().replace(/^SIG/, '');
  if (/^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 64) return Number(v);
  const n = SIGNALS[v];
  if (!n) throw expected('the signal', `one of ${Object.keys(SIGNALS).join(', ')} or a number`, value);
  return n;
}
