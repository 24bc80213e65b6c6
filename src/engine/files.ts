// Files inside a container: copies in and out, and export, all through the host's supervisor.
import { validateArchive } from '../images/archive.js';
import { imageFor } from '../images/store.js';
import { splitPath, statIn, tarIn, tarOut } from '../runtime/files.js';
import { shimPath } from '../runtime/supervisor.js';
import { EngineError } from '../errors.js';
import { rootlessHost } from '../runtime/rootless.js';
import type { ContainerRow } from '../state/types.js';
import type { EngineCore } from './core.js';
import { isActive } from './status.js';

/**
 * Rootless, a stopped container's root can only be assembled in a mount namespace the user cannot
 * make outside a user namespace of its own: refused until it runs (a running one is joined).
 */
function reachable(core: EngineCore, ref: string): ContainerRow {
  const row = core.get(ref);
  if (rootlessHost() && row.config.isolation !== 'minimal' && !isActive(row.status))
    throw new EngineError('HOST_UNSUPPORTED', `Cannot reach the files of container ${row.name}: it is not running, and codex32 runs rootless, which can only enter a running container. Start it first, or run codex32 as root.`, { context: { container: row.name } });
  return row;
}

export { validateArchive } from '../images/archive.js';

/** A tar stream of path inside the container (running or stopped); its basename is the top entry. */
export async function copyFrom(core: EngineCore, ref: string, path: string) {
  const row = reachable(core, ref);
  const { dir, entry } = splitPath(path);
  return tarOut(shimPath(), core.paths(row.id).dir, dir, [entry]);
}

/** Copy a tar archive file into the container at dir, after refusing entries that would leave it. */
export async function copyTo(core: EngineCore, ref: string, dir: string, archive: string): Promise<void> {
  const row = reachable(core, ref);
  await validateArchive(archive);
  await tarIn(shimPath(), core.paths(row.id).dir, dir, archive);
}

/** Whether path inside the container is a directory, something else, or missing. */
export async function statPath(core: EngineCore, ref: string, path: string): Promise<'dir' | 'other' | 'missing'> {
  const row = reachable(core, ref);
  return statIn(shimPath(), core.paths(row.id).dir, path);
}

/** A tar stream of the container's own filesystem: the whole root of a rootfs image, else /app. */
export async function exportFs(core: EngineCore, ref: string) {
  const row = reachable(core, ref);
  const image = imageFor(core.store, row.config);
  const dir = core.paths(row.id).dir;
  if (row.config.isolation === 'minimal') return tarOut(shimPath(), dir, '/', ['*']);
  return image.kind === 'rootfs' || image.kind === 'oci' ? tarOut(shimPath(), dir, '/', ['*']) : tarOut(shimPath(), dir, '/', ['app']);
}
