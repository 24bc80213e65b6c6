// What a failure of the state database or the storage directory means, and what the operator should do.
import { accessSync, constants, statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { EngineError } from '../errors.js';

type Kind = 'corrupt' | 'full' | 'readonly' | 'busy' | 'cantopen' | 'io';

const SQLITE_KINDS: Array<[RegExp, Kind]> = [
  [/^SQLITE_(CORRUPT|NOTADB)/, 'corrupt'],
  [/^SQLITE_FULL/, 'full'],
  [/^SQLITE_READONLY/, 'readonly'],
  [/^SQLITE_(BUSY|LOCKED)/, 'busy'],
  [/^SQLITE_(CANTOPEN|PERM|AUTH)/, 'cantopen'],
  [/^SQLITE_(IOERR|NOMEM|PROTOCOL)/, 'io'],
];

const ERRNO_KINDS: Record<string, Kind> = {
  ENOSPC: 'full',
  EDQUOT: 'full',
  EROFS: 'readonly',
  EIO: 'io',
};

/** Bytes free for this user on the file system holding path, or undefined when it cannot be asked. */
export function freeBytes(path: string): number | undefined {
  try {
    const s = statfsSync(path);
    return Number(s.bavail) * Number(s.bsize);
  } catch {
    return undefined;
  }
}

function readOnlyMount(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK);
    return false;
  } catch (e) {
    return (e as { code?: string }).code === 'EROFS';
  }
}

const human = (n: number) => (n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MiB` : `${(n / 1024).toFixed(1)} KiB`);

function kindOf(err: unknown): Kind | undefined {
  const code = (err as { code?: unknown })?.code;
  if (typeof code !== 'string') return undefined;
  for (const [re, kind] of SQLITE_KINDS) if (re.test(code)) return kind;
  return ERRNO_KINDS[code];
}

/** The message for a full file system: how much is left and what can be freed, where. */
export function diskFullMessage(storageDir: string, what: string, need?: number): string {
  const free = freeBytes(storageDir);
  const room = [free === undefined ? '' : `${human(free)} free`, need ? `codex32 needs at least ${human(need)}` : ''].filter(Boolean).join('; ');
  return (
    `No space left to ${what}: the file system holding ${storageDir} is ${need ? 'nearly ' : ''}full${room ? ` (${room})` : ''}. ` +
    `Free space there and retry: \`codex32 prune\` removes stopped containers, container logs are ${storageDir}/containers/*/container.log*, ` +
    `imported images are under ${storageDir}/images (\`codex32 image rm\`). Nothing was changed.`
  );
}

/** Free space below which create and start refuse: a container's spec, records and first logs need room. */
export const MIN_FREE_BYTES = 1024 * 1024;

/**
 * Refuse, before anything is written, to begin an operation that needs room on a nearly full storage
 * directory: failing halfway would leave rows and files that then need the space to be removed.
 */
export function ensureRoom(storageDir: string, what: string): void {
  const free = freeBytes(storageDir);
  if (free !== undefined && free < MIN_FREE_BYTES)
    throw new EngineError('STATE_UNAVAILABLE', diskFullMessage(storageDir, what, MIN_FREE_BYTES), { context: { path: storageDir } });
}

/**
 * Turn a failure of SQLite or of a file under the storage directory into an EngineError whose code is
 * stable and whose message says what to do; returns undefined for anything else (a bug, bad input).
 * A full disk is STATE_UNAVAILABLE, never STATE_CORRUPT: nothing needs repairing once space is freed.
 */
export function stateError(err: unknown, path: string, what = 'update the state database'): EngineError | undefined {
  if (err instanceof EngineError) return err;
  let kind = kindOf(err);
  if (!kind) return undefined;
  const storageDir = path.endsWith('.db') ? dirname(path) : path;
  const detail = (err as Error).message;
  // SQLite reports some ENOSPC writes (the WAL index, an fsync) as I/O errors: ask the file system
  if (kind === 'io' && (freeBytes(storageDir) ?? Infinity) < 64 * 1024) kind = 'full';
  // SQLite cannot create its WAL index on a read-only mount and says only "unable to open": ask the kernel
  if ((kind === 'cantopen' || kind === 'io') && readOnlyMount(storageDir)) kind = 'readonly';
  const opts = { cause: err, context: { path } };
  switch (kind) {
    case 'corrupt':
      return new EngineError(
        'STATE_CORRUPT',
        `The state database ${path} is damaged (${detail}). Running containers are not affected. ` +
          `Run \`codex32 system repair\` to keep the damaged file aside and rebuild the database from the container directories; see docs/state.md.`,
        opts,
      );
    case 'full':
      return new EngineError('STATE_UNAVAILABLE', diskFullMessage(storageDir, what), opts);
    case 'readonly':
      return new EngineError(
        'STATE_UNAVAILABLE',
        `Cannot write ${path}: it is read-only (${detail}). Remount the file system holding ${storageDir} read-write, fix the file's permissions, or choose another --storage directory.`,
        opts,
      );
    case 'busy':
      return new EngineError(
        'STATE_UNAVAILABLE',
        `The state database ${path} stayed locked by another process past the 30 s busy timeout (${detail}). Find the holder with \`fuser ${path}\`, let it finish or stop it, and retry.`,
        opts,
      );
    case 'cantopen':
      return new EngineError(
        'STATE_UNAVAILABLE',
        `Cannot open ${path} (${detail}). Check that ${storageDir} exists and that this user may read and write it, or choose another --storage directory.`,
        opts,
      );
    case 'io':
      return new EngineError(
        'STATE_UNAVAILABLE',
        `An I/O error on ${path} (${detail}). Check the disk holding ${storageDir} (\`dmesg\`) and its free space, then retry.`,
        opts,
      );
  }
}

/** A value read from the database that does not parse: the file was damaged under SQLite's checks. */
export function malformedRow(path: string, table: string, cause: unknown): EngineError {
  return new EngineError(
    'STATE_CORRUPT',
    `The state database ${path} is damaged: a row of ${table} does not parse (${(cause as Error).message}). ` +
      `Run \`codex32 system repair\` to rebuild it from the container directories; see docs/state.md.`,
    { cause, context: { path } },
  );
}

/**
 * Wrap every method of a store class so a SQLite failure (corruption, a full disk, a read-only file
 * system, a lock held past the busy timeout) becomes an EngineError that says what to do; wrapping the
 * prototype once means a method added later cannot forget it. A row whose JSON does not parse is damage.
 */
export function guardQueries(cls: { prototype: { path: string } }): void {
  const proto = cls.prototype as unknown as Record<string, unknown>;
  for (const name of Object.getOwnPropertyNames(proto)) {
    const fn = Object.getOwnPropertyDescriptor(proto, name)?.value;
    if (name === 'constructor' || typeof fn !== 'function') continue;
    proto[name] = function (this: { path: string }, ...args: unknown[]) {
      try {
        return (fn as (...a: unknown[]) => unknown).apply(this, args);
      } catch (err) {
        if (err instanceof SyntaxError && name !== 'tx') throw malformedRow(this.path, 'the state database', err);
        throw stateError(err, this.path) ?? err;
      }
    };
  }
}
