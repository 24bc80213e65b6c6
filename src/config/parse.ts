// Parsers for the human forms users type (sizes, durations, restart policies, volumes, env).
// Numbers are exact: digits become BigInt, never floating point, and are checked against their
// documented maximum (MAX) before they become a JS number, which within that maximum is exact.
import { EngineError, expected } from '../errors.js';
import { MAX, SIZE_MAX_TEXT } from './schema.js';

const KI = 1024n;
const SIZE_UNITS: Record<string, bigint> = { '': 1n, b: 1n, k: KI, m: KI ** 2n, g: KI ** 3n, t: KI ** 4n };
/** the form a size takes: digits, an optional fraction, an optional binary unit (k, kb, kib, ...) */
const SIZE_RE = /^(\d+)(?:\.(\d+))?\s*(?:([kmgt])i?b?|(b))?$/i;

/** Digits and fraction digits as an exact rational scaled by unit: the whole part of (int.frac × unit). */
export function scaled(int: string, frac: string | undefined, unit: bigint): bigint {
  const f = frac ?? '';
  return ((BigInt(int) * 10n ** BigInt(f.length) + BigInt(f || '0')) * unit) / 10n ** BigInt(f.length);
}

/** Parse a size such as 512k, 64m, 1.5g or 1024 (bytes) into bytes; a fraction of a byte is dropped. */
export function parseSize(flag: string, value: string): number {
  const m = SIZE_RE.exec(value.trim());
  const form = 'a size such as 64m';
  if (!m) throw expected(flag, form, value);
  const bytes = scaled(m[1], m[2], SIZE_UNITS[(m[3] ?? m[4] ?? '').toLowerCase()]);
  if (bytes < 1n) throw expected(flag, form, value);
  if (bytes > BigInt(MAX.bytes)) throw expected(flag, `${form} of at most ${SIZE_MAX_TEXT}`, value);
  return Number(bytes);
}

/** Parse a whole number from min (default 1) to max, exactly. */
export function parsePositiveInt(flag: string, value: string, max: number = Number.MAX_SAFE_INTEGER, min = 1): number {
  const v = value.trim();
  const form = `a whole number from ${min} to ${max}`;
  if (!/^\d+$/.test(v)) throw expected(flag, form, value);
  const n = BigInt(v);
  if (n < BigInt(min) || n > BigInt(max)) throw expected(flag, form, value);
  return Number(n);
}

/** Parse a CPU count such as 0.5 or 2: thousandths of a CPU at most, up to MAX.cpus. */
export function parseCpus(flag: string, value: string): number {
  const form = `a number of CPUs such as 0.5 or 2 (at most ${MAX.cpus}, in steps of 0.001)`;
  const m = /^(\d*)(?:\.(\d+))?$/.exec(value.trim());
  if (!m || (!m[1] && !m[2])) throw expected(flag, form, value);
  const milli = scaled(m[1] || '0', m[2], 1000n);
  // finer than a thousandth would be silently rounded: refuse it instead
  const finer = /[1-9]/.test((m[2] ?? '').slice(3));
  if (finer || milli < 1n || milli > BigInt(MAX.cpus) * 1000n) throw expected(flag, form, value);
  return Number(milli) / 1000;
}

const DURATION_MS: Record<string, bigint> = { ms: 1n, s: 1000n, m: 60_000n, h: 3_600_000n };

/**
 * Parse a duration (seconds, whole or fractional, or 500ms, 30s, 5m, 1h) into whole milliseconds,
 * from min to MAX.durationMs (8760h); a fraction of a millisecond is dropped.
 */
export function parseDurationMs(flag: string, value: string, min: 0 | 1 = 0): number {
  const form = 'a duration such as 10, 30s or 5m';
  const m = /^(\d*)(?:\.(\d+))?(ms|s|m|h)?$/.exec(value.trim());
  if (!m || (!m[1] && !m[2])) throw expected(flag, form, value);
  const ms = scaled(m[1] || '0', m[2], DURATION_MS[m[3] ?? 's']);
  if (ms < BigInt(min)) throw expected(flag, min ? `${form}, longer than 0` : form, value);
  if (ms > BigInt(MAX.durationMs)) throw expected(flag, `${form} of at most 8760h`, value);
  return Number(ms);
}

/** Parse a duration into seconds (whole milliseconds, so exact through a later × 1000). */
export function parseSeconds(flag: string, value: string, min: 0 | 1 = 0): number {
  return parseDurationMs(flag, value, min) / 1000;
}

/** The latest time JavaScript's Date can hold, in ms since the epoch. */
const MAX_TIME_MS = 8_640_000_000_000_000n;

/** Parse a point in time: RFC 3339, a unix timestamp, or a relative duration such as 10m (ago). */
export function parseTime(flag: string, value: string, now = Date.now()): number {
  const v = value.trim();
  const form = 'a time such as 2026-01-02T15:04:05Z, a unix timestamp or 10m';
  const unix = /^(\d+)(?:\.(\d+))?$/.exec(v);
  if (unix) {
    const ms = scaled(unix[1], unix[2], 1000n);
    if (ms > MAX_TIME_MS) throw expected(flag, form, value);
    return Number(ms);
  }
  if (/^\d*\.?\d+(ms|s|m|h)$/.test(v)) return now - parseDurationMs(flag, v);
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw expected(flag, form, value);
  return t;
}

export type RestartName = 'no' | 'on-failure' | 'always' | 'unless-stopped';

/** Parse no | on-failure[:N] | always | unless-stopped. */
export function parseRestart(value: string): { name: RestartName; maxRetries: number } {
  const m = /^(no|on-failure|always|unless-stopped)(?::(\d+))?$/.exec(value.trim());
  const form = `one of no, on-failure[:N], always, unless-stopped (N at most ${MAX.retries})`;
  if (!m || (m[2] !== undefined && (m[1] !== 'on-failure' || BigInt(m[2]) > BigInt(MAX.retries))))
    throw expected('`--restart`', form, value);
  return { name: m[1] as RestartName, maxRetries: m[2] ? Number(m[2]) : 0 };
}

/**
 * Parse HOST:CONTAINER[:ro|rw], VOLUME:CONTAINER[:ro|rw] (a source without a slash names a volume) or
 * CONTAINER alone (an anonymous volume, source '') into a volume.
 */
export function parseVolume(value: string): { source: string; target: string; readOnly: boolean } {
  const parts = value.split(':');
  if (parts.length === 1 && parts[0].startsWith('/')) return { source: '', target: parts[0], readOnly: false };
  if (parts.length < 2 || parts.length > 3 || !parts[0] || !parts[1] || (parts[2] && !['ro', 'rw'].includes(parts[2])))
    throw expected('`-v`', 'HOST:CONTAINER, VOLUME:CONTAINER (either with :ro) or /CONTAINER alone', value);
  return { source: parts[0], target: parts[1], readOnly: parts[2] === 'ro' };
}

/** What one --mount gives: a bind or volume, or a tmpfs. */
export type ParsedMount =
  | { volume: { source: string; target: string; readOnly: boolean; type: 'bind' | 'volume'; noCopy?: boolean } }
  | { tmpfs: { path: string; size?: number; mode?: number } };

/** Parse docker's `--mount type=volume|bind|tmpfs,source=,target=,readonly` (its other keys where codex32 has them). */
export function parseMount(value: string): ParsedMount {
  const form = 'type=volume|bind|tmpfs,source=SRC,target=/PATH[,readonly]';
  const kv: Record<string, string> = {};
  for (const field of value.split(',')) {
    const i = field.indexOf('=');
    const k = (i < 0 ? field : field.slice(0, i)).trim().toLowerCase();
    if (!k) throw expected('`--mount`', form, value);
    kv[k] = i < 0 ? 'true' : field.slice(i + 1);
  }
  const pick = (...keys: string[]) => keys.map((k) => kv[k]).find((v) => v !== undefined);
  const type = kv.type ?? 'volume';
  const target = pick('target', 'destination', 'dst');
  if (!target || !target.startsWith('/')) throw expected('`--mount` target', 'an absolute path', target ?? '');
  const yes = (v: string | undefined) => v !== undefined && ['true', '1', ''].includes(v.toLowerCase());
  const known: Record<string, string[]> = {
    volume: ['volume-nocopy', 'volume-driver'],
    bind: ['bind-propagation'],
    tmpfs: ['tmpfs-size', 'tmpfs-mode'],
  };
  if (!known[type]) throw expected('`--mount` type', 'volume, bind or tmpfs', type);
  for (const k of Object.keys(kv))
    if (!['type', 'source', 'src', 'target', 'destination', 'dst', 'readonly', 'ro', ...known[type]].includes(k))
      throw new EngineError('INVALID_CONFIG', `\`--mount\` has no option \`${k}\` for type=${type} in codex32 (create a volume with options by \`codex32 volume create --opt\`), got \`${value}\``);
  if (kv['volume-driver'] && kv['volume-driver'] !== 'local') throw expected('`--mount` volume-driver', 'local (the only driver)', kv['volume-driver']);
  if (kv['bind-propagation'] && kv['bind-propagation'] !== 'rprivate') throw expected('`--mount` bind-propagation', 'rprivate (the only one)', kv['bind-propagation']);
  const source = pick('source', 'src') ?? '';
  const readOnly = yes(pick('readonly', 'ro'));
  if (type === 'tmpfs') {
    if (source) throw expected('`--mount type=tmpfs`', 'without a source', value);
    if (kv['tmpfs-mode'] && !/^[0-7]{1,4}$/.test(kv['tmpfs-mode'])) throw expected('`--mount` tmpfs-mode', 'an octal mode such as 1777', kv['tmpfs-mode']);
    return { tmpfs: { path: target, ...(kv['tmpfs-size'] ? { size: parseSize('`--mount` tmpfs-size', kv['tmpfs-size']) } : {}), ...(kv['tmpfs-mode'] ? { mode: parseInt(kv['tmpfs-mode'], 8) } : {}) } };
  }
  if (type === 'bind' && !source.startsWith('/')) throw expected('`--mount type=bind` source', 'an absolute host path', source);
  if (type === 'volume' && source.includes('/')) throw expected('`--mount type=volume` source', 'a volume name (or none, for an anonymous volume)', source);
  return { volume: { source, target, readOnly, type: type as 'bind' | 'volume', ...(yes(kv['volume-nocopy']) ? { noCopy: true } : {}) } };
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

const SIGNALS: Record<string, number> = {
  HUP: 1, INT: 2, QUIT: 3, KILL: 9, USR1: 10, USR2: 12, TERM: 15, CONT: 18, STOP: 19, WINCH: 28,
};

/** Parse a signal name (TERM, SIGTERM) or number into its number. */
export function parseSignal(value: string): number {
  const v = value.trim().toUpperCase().replace(/^SIG/, '');
  if (/^\d{1,2}$/.test(v) && Number(v) >= 1 && Number(v) <= 64) return Number(v);
  const n = SIGNALS[v];
  if (!n) throw expected('the signal', `one of ${Object.keys(SIGNALS).join(', ')} or a number`, value);
  return n;
}
