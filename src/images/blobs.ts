// Content-addressed blob store: every blob is written to a temporary file, hashed, verified and renamed.
import { createHash, nodeStream, pipeline, randomBytes } from '../lazy.js';
import { createReadStream, createWriteStream, existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable, Transform, Writable } from 'node:stream';
import { EngineError } from '../errors.js';

export const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

/** Where the image store keeps its files under the storage directory. */
export function ociPaths(storageDir: string) {
  const root = join(storageDir, 'oci');
  return { root, blobs: join(root, 'blobs', 'sha256'), layers: join(root, 'layers'), shifted: join(root, 'layers-shifted'), tmp: join(root, 'tmp') };
}

/** sha256 digest of a buffer, as `sha256:hex`. */
export function digestOf(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** A pass-through stream that hashes and counts what flows through it. */
export function hashingStream(): Transform & { digest(): string; size(): number } {
  const h = createHash('sha256');
  let n = 0;
  const t = new (nodeStream().Transform)({
    transform(chunk: Buffer, _enc, cb) {
      h.update(chunk);
      n += chunk.length;
      cb(null, chunk);
    },
  }) as Transform & { digest(): string; size(): number };
  let final: string | undefined;
  t.digest = () => (final ??= `sha256:${h.digest('hex')}`);
  t.size = () => n;
  return t;
}

/** A pass-through that also writes every chunk to tap (waiting while tap is full) and ends tap at the end. */
function teeInto(tap: Writable): Transform {
  return new (nodeStream().Transform)({
    transform(chunk: Buffer, _enc, cb) {
      if (tap.destroyed || tap.write(chunk)) return cb(null, chunk);
      // a tap that fails is closed: the blob itself is still stored, and the tap's owner reports the failure
      const go = () => {
        tap.off('drain', go).off('close', go);
        cb(null, chunk);
      };
      tap.on('drain', go).on('close', go);
    },
    flush(cb) {
      if (!tap.destroyed) tap.end();
      cb();
    },
  });
}

/** A unique temporary path inside the store (same filesystem, so a rename is atomic). */
export function tempPath(storageDir: string, what: string): string {
  const { tmp } = ociPaths(storageDir);
  mkdirSync(tmp, { recursive: true, mode: 0o700 });
  return join(tmp, `${what}-${process.pid}-${randomBytes(6).toString('hex')}`);
}

/** The blob store of one storage directory. */
export class BlobStore {
  readonly dir: string;
  /** blobs and layers this instance created: what a failed operation removes again if nothing uses them */
  readonly journal = { blobs: new Set<string>(), layers: new Set<string>() };
  constructor(readonly storageDir: string) {
    const p = ociPaths(storageDir);
    // searchable, not listable: strict containers' unprivileged root mounts shifted layers from below it
    mkdirSync(p.root, { recursive: true, mode: 0o711 });
    this.dir = p.blobs;
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  /** Path of a blob's file. */
  path(digest: string): string {
    if (!DIGEST_RE.test(digest)) throw new EngineError('INVALID_CONFIG', `Expected a digest such as sha256:<64 hex digits>, got \`${digest}\``);
    return join(this.dir, digest.slice(7));
  }

  /** True when the blob is stored. */
  has(digest: string): boolean {
    return existsSync(this.path(digest));
  }

  /** Size of a stored blob in bytes. */
  size(digest: string): number {
    return statSync(this.path(digest)).size;
  }

  /** Store what a stream yields; refused (and nothing kept) when expected is given and does not match. */
  async put(source: Readable, expected?: string, onBytes?: (n: number) => void, tap?: Writable): Promise<{ digest: string; size: number }> {
    if (expected && this.has(expected)) {
      source.destroy();
      tap?.destroy();
      return { digest: expected, size: this.size(expected) };
    }
    const tmp = tempPath(this.storageDir, 'blob');
    const hash = hashingStream();
    if (onBytes) hash.on('data', (c: Buffer) => onBytes(c.length));
    const stages: Transform[] = tap ? [teeInto(tap)] : [];
    try {
      await pipeline([source, hash, ...stages, createWriteStream(tmp, { mode: 0o600, highWaterMark: 1 << 20 })]);
      const digest = hash.digest();
      if (expected && digest !== expected)
        throw new EngineError('DIGEST_MISMATCH', `The content of blob ${expected} does not match its digest (got ${digest}). It was not stored; the source is corrupt or was tampered with.`, { context: { digest: expected } });
      renameSync(tmp, this.path(digest));
      this.journal.blobs.add(digest);
      return { digest, size: hash.size() };
    } catch (e) {
      tap?.destroy();
      throw e;
    } finally {
      rmSync(tmp, { force: true });
    }
  }

  /** Store a buffer (verified against expected when given). */
  putBytes(data: Buffer | string, expected?: string): Promise<{ digest: string; size: number }> {
    return this.put(nodeStream().Readable.from([Buffer.from(data)]), expected);
  }

  /** Store a file's content by copying it through the hash. */
  putFile(file: string, expected?: string): Promise<{ digest: string; size: number }> {
    return this.put(createReadStream(file), expected);
  }

  /** A stream of a stored blob. */
  read(digest: string): Readable {
    return createReadStream(this.path(digest));
  }

  /** Remove a blob (nothing if absent). */
  remove(digest: string): void {
    rmSync(this.path(digest), { force: true });
  }
}
