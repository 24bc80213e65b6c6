// Files inside a container: copies in and out, and export, all through the host's supervisor.
import { validateArchive } from '../images/archive.js';
import { imageFor } from '../images/store.js';
import { splitPath, statIn, tarIn, tarOut } from '../runtime/files.js';
import { shimPath } from '../runtime/supervisor.js';
import type { ContainerRow } from '../state/types.js';
import { copyRoot, reachable, refuseLostCopy, withCopyRoot } from './copyroot.js';
import type { EngineCore } from './core.js';

export { validateArchive } from '../images/archive.js';

/** A tar stream of path inside the container (running or stopped); its basename is the top entry. */
export async function copyFrom(core: EngineCore, ref: string, path: string) {
  const row = reachable(core, ref);
  const { dir, entry } = splitPath(path);
  return streamOut(core, row, dir, [entry]);
}

/** A tar stream of entries of dir in row; a copy run directory made for it goes when the helper ends. */
async function streamOut(core: EngineCore, row: ContainerRow, dir: string, entries: string[]) {
  const root = await copyRoot(core, row);
  const out = await tarOut(shimPath(), root.dir, dir, entries).catch(async (e: unknown) => {
    await root.done();
    throw e;
  });
  void out.proc.then(root.done, root.done);
  return out;
}

/** Copy a tar archive file into the container at dir, after refusing entries that would leave it. */
export async function copyTo(core: EngineCore, ref: string, dir: string, archive: string): Promise<void> {
  const row = reachable(core, ref);
  await validateArchive(archive);
  await withCopyRoot(core, row, async (run) => {
    await refuseLostCopy(row, run, [dir]);
    await tarIn(shimPath(), run, dir, archive);
  });
}

/** Whether path inside the container is a directory, something else, or missing. */
export async function statPath(core: EngineCore, ref: string, path: string): Promise<'dir' | 'other' | 'missing'> {
  const row = reachable(core, ref);
  return withCopyRoot(core, row, (run) => statIn(shimPath(), run, path));
}

/** A tar stream of the container's own filesystem: the whole root of a rootfs image, else /app. */
export async function exportFs(core: EngineCore, ref: string) {
  const row = reachable(core, ref);
  const image = imageFor(core.store, row.config);
  const whole = row.config.isolation === 'minimal' || image.kind === 'rootfs' || image.kind === 'oci';
  return streamOut(core, row, '/', whole ? ['*'] : ['app']);
}
