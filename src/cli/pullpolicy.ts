// docker's --pull for create and run: `missing` (the default) pulls an image reference that is not
// stored, then creates; `always` pulls first; `never` does not. A path, `host`, and a name that is a file
// or directory here are never pulled: a missing `./` must not send a bot's name to a registry.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ContainerConfig } from '../config/schema.js';
import type { ContainerEngine } from '../engine/engine.js';
import { EngineError, expected } from '../errors.js';
import { isPathRef } from '../images/store.js';
import { progressReporter } from './progress.js';

const POLICIES = ['missing', 'always', 'never'];

/** True when ref can only mean an image in a registry. */
function pullable(ref: string | undefined): ref is string {
  return !!ref && ref !== 'host' && !isPathRef(ref) && !existsSync(resolve(ref));
}

/** Pull ref with its progress on stderr (stdout is the container's). */
async function pull(engine: ContainerEngine, ref: string): Promise<void> {
  const p = progressReporter('downloading');
  await engine.image.pull(ref, { onEvent: p.onEvent });
  p.finish();
}

/** Create the container from config under the pull policy; its id and name. */
export async function createPulling(engine: ContainerEngine, config: ContainerConfig, policy = 'missing') {
  if (!POLICIES.includes(policy)) throw expected('`--pull`', 'missing, always or never', policy);
  const ref = config.image;
  if (policy === 'always' && pullable(ref)) await pull(engine, ref);
  try {
    return await engine.create(config);
  } catch (e) {
    if (policy !== 'missing' || !pullable(ref) || !(e instanceof EngineError) || e.code !== 'NO_SUCH_IMAGE') throw e;
    process.stderr.write(`Unable to find image '${ref}' locally\n`);
    await pull(engine, ref);
    return engine.create(config);
  }
}
