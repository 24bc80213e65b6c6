// Every public engine call reports a failing storage directory (full, read-only, I/O error) as STATE_UNAVAILABLE.
import { stateError } from '../state/errors.js';

const convert = (err: unknown, storageDir: string): unknown => stateError(err, storageDir, 'write to the storage directory') ?? err;

/**
 * Wrap each method of cls so an errno failure of a file under the storage directory (ENOSPC, EDQUOT,
 * EROFS, EIO), thrown or rejected, becomes an EngineError that says what to free or fix. Errors that
 * are already EngineErrors, and every other error, pass through unchanged.
 */
export function mapStorageErrors<T extends { settings: { storageDir: string } }>(cls: { prototype: T }): void {
  const proto = cls.prototype as unknown as Record<string, unknown>;
  for (const name of Object.getOwnPropertyNames(proto)) {
    const desc = Object.getOwnPropertyDescriptor(proto, name);
    if (name === 'constructor' || typeof desc?.value !== 'function' || desc.value.constructor.name === 'AsyncGeneratorFunction') continue;
    const fn = desc.value as (...a: unknown[]) => unknown;
    proto[name] = function (this: T, ...args: unknown[]) {
      try {
        const out = fn.apply(this, args);
        if (out instanceof Promise) return out.catch((err: unknown) => Promise.reject(convert(err, this.settings.storageDir)));
        return isAsyncGenerator(out) ? mapped(out, this.settings.storageDir) : out;
      } catch (err) {
        throw convert(err, this.settings.storageDir);
      }
    };
  }
}

const isAsyncGenerator = (v: unknown): v is AsyncGenerator<unknown> =>
  typeof v === 'object' && v !== null && typeof (v as AsyncGenerator)[Symbol.asyncIterator] === 'function' && typeof (v as AsyncGenerator).next === 'function';

/** gen, its failures while it runs (logs that follow a container on a disk filling up) mapped as above. */
async function* mapped<T>(gen: AsyncGenerator<T>, storageDir: string): AsyncGenerator<T> {
  try {
    return yield* gen;
  } catch (err) {
    throw convert(err, storageDir);
  }
}
