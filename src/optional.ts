// Optional dependencies (the Kubernetes client and models, fastify): loaded only where used, so a program
// embedding the engine installs none of them; when one is missing, a clear error says what to install.
import { EngineError } from './errors.js';

/** Load a module that needs the optional package pkg; its absence becomes HOST_UNSUPPORTED naming it. */
export async function optionalImport<T>(pkg: string, purpose: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if ((err.code === 'ERR_MODULE_NOT_FOUND' || err.code === 'MODULE_NOT_FOUND') && String(err.message).includes(pkg))
      throw new EngineError('HOST_UNSUPPORTED', `${purpose} needs the optional package ${pkg}, which is not installed. Run \`npm install ${pkg}\` in the project that uses codex32.`, { cause: e });
    throw e;
  }
}
