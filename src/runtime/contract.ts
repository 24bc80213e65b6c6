// The contract between the engine and the supervisor, declared once (contract.json): every spec key with
// its form, every run-directory file with its name. Spec entries are rendered and checked only here;
// native/contract.h is generated from the same table, so both sides name the same keys and files.
import { EngineError } from '../errors.js';
import table from './contract.json' with { type: 'json' };

/** The contract version: the spec's first entry, and the one version a supervisor carries out. */
export const CONTRACT_VERSION: number = table.version;

type DeclaredKey = keyof typeof table.spec;
/** A key a writer may put in the spec (any other is a type error; the contract entry is encodeSpecEntries' own). */
export type SpecKey = Exclude<DeclaredKey, 'contract'>;
/** A value as a writer gives it: a scalar, or the fields of a `fields` key. */
export type SpecValue = string | number | bigint | boolean | ReadonlyArray<string | number>;

interface KeyDecl {
  form: 'number' | 'flag' | 'enum' | 'string' | 'path' | 'fields';
  meaning: string;
  values?: string[];
  lines?: boolean;
  repeated?: boolean;
  step?: boolean;
  sep?: string;
  fields?: string[];
  tsOnly?: string;
}

/** Every declared spec key, as the table declares it. */
export const SPEC_KEYS: Readonly<Record<DeclaredKey, KeyDecl>> = table.spec as Record<DeclaredKey, KeyDecl>;

type FileId = keyof typeof table.files;
/** The names of the run directory's files, by id: `${runDir}/${RUN_FILES.state}`. */
export const RUN_FILES = Object.fromEntries(Object.entries(table.files).map(([id, f]) => [id, f.name])) as Record<FileId, string>;

const bad = (key: string, want: string, got: unknown) =>
  new EngineError('INVALID_CONFIG', `Expected the spec entry \`${key}\` to be ${want}, got \`${String(got).slice(0, 60)}\``);

/** A scalar's text: integers as decimals, booleans as 1 or 0. */
function scalar(key: string, v: unknown): string {
  if (typeof v === 'boolean') return v ? '1' : '0';
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw bad(key, 'an integer', v);
    return String(v);
  }
  if (typeof v === 'string') return v;
  throw bad(key, 'a string or a number', v);
}

/** The value's text, checked against the key's form. */
function render(key: string, d: KeyDecl, value: SpecValue): string {
  if (d.form === 'fields') {
    if (!Array.isArray(value) || value.length !== d.fields!.length) throw bad(key, `${d.fields!.length} fields (${d.fields!.join(', ')})`, value);
    const parts = value.map((f) => scalar(key, f));
    if (parts.some((p) => p.includes(d.sep!) || p.includes('\n'))) throw bad(key, `fields without ${JSON.stringify(d.sep)} or a newline`, parts.join('|'));
    return parts.join(d.sep);
  }
  if (Array.isArray(value)) throw bad(key, `one ${d.form}`, value);
  const text = scalar(key, value);
  if (d.form === 'number' && !/^-?\d+$/.test(text)) throw bad(key, 'an integer', text);
  if (d.form === 'flag' && text !== '0' && text !== '1') throw bad(key, '0 or 1', text);
  if (d.form === 'enum' && !d.values!.includes(text)) throw bad(key, `one of ${d.values!.join(', ')}`, text);
  if (d.form === 'path' && !text.startsWith('/')) throw bad(key, 'an absolute path', text);
  // the same refusal, in the same words, as when each writer checked its entries itself
  if (text.includes('\0') || (text.includes('\n') && !d.lines))
    throw new EngineError('INVALID_CONFIG', `Expected the configuration to contain no NUL bytes or stray newlines, got \`${`${key}=${text}`.slice(0, 40)}\``);
  return text;
}

/** One spec entry, `key=value`, its value checked against the key's declared form. */
export function spec(key: SpecKey, value: SpecValue): string {
  const d = SPEC_KEYS[key] as KeyDecl | undefined;
  // the type already refuses both: this holds against a cast
  if (!d || (key as DeclaredKey) === 'contract') throw new EngineError('RUNTIME_FAILED', `The spec key \`${String(key)}\` is not one a writer may use (src/runtime/contract.json)`);
  return `${key}=${render(key, d, value)}`;
}

/** One entry per value of a repeated key (arg, env, cgroup...). */
export function specEach(key: SpecKey, values: readonly SpecValue[]): string[] {
  if (!SPEC_KEYS[key]?.repeated) throw new EngineError('RUNTIME_FAILED', `The spec key \`${String(key)}\` is not declared repeated`);
  return values.map((v) => spec(key, v));
}

/** The spec file's bytes: the contract version first, then each entry NUL-terminated, as the supervisor reads them. */
export function encodeSpecEntries(entries: readonly string[]): Buffer {
  return Buffer.from([`contract=${CONTRACT_VERSION}`, ...entries].map((e) => e + '\0').join(''));
}

/** A spec file's entries read back, key to values in order (the engine reads what it last wrote, at repair). */
export function decodeSpec(raw: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const e of raw.split('\0')) {
    const i = e.indexOf('=');
    if (i > 0) out.set(e.slice(0, i), [...(out.get(e.slice(0, i)) ?? []), e.slice(i + 1)]);
  }
  return out;
}

/** The values of a declared key in a decoded spec (none when absent). */
export function specValues(decoded: ReadonlyMap<string, string[]>, key: DeclaredKey): string[] {
  return decoded.get(key) ?? [];
}
