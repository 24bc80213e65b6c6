// A value built on first use. Module-level tables that cost something to build (zod schemas, the default
// seccomp profile) are built when a command first needs them, not at every CLI start (docs/benchmarks.md).

/** A function that returns build()'s result, calling build only the first time. */
export function once<T>(build: () => T): () => T {
  let value: T | undefined;
  let built = false;
  return () => {
    if (!built) {
      value = build();
      built = true;
    }
    return value as T;
  };
}
