// An OCI image's root for one container: the shared layers as overlay lower dirs, mount points in the upper dir.
import { runFile } from '../runtime/command.js';
import { chmodSync, existsSync, lchownSync, lstatSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { EngineError } from '../errors.js';
import { ociPaths, tempPath } from './blobs.js';

const run = runFile;

/** Directories every container root needs as mount points. */
const MOUNT_POINTS: Array<[string, number]> = [['proc', 0o555], ['sys', 0o555], ['dev', 0o755], ['tmp', 0o1777], ['etc', 0o755]];

/** Add offset to the owner of every entry under dir (symlinks included, never followed), keeping setuid bits. */
function shiftTree(dir: string, offset: number): void {
  const walk = (p: string) => {
    const st = lstatSync(p);
    lchownSync(p, st.uid + offset, st.gid + offset);
    // chown clears setuid and setgid on files: put the mode back
    if (!st.isSymbolicLink() && st.mode & 0o6000) chmodSync(p, st.mode & 0o7777);
    if (st.isDirectory()) for (const e of readdirSync(p)) walk(join(p, e));
  };
  walk(dir);
}

/**
 * A copy of a layer whose owners are shifted by offset, made once per layer and shared by every strict
 * container: the kernel here gives overlayfs no idmapped lower layers through codex32's supervisor, so
 * ownership is shifted on disk instead of per container (docs/images.md).
 */
export async function shiftedLayer(storageDir: string, layer: string, offset: number): Promise<string> {
  const dir = join(ociPaths(storageDir).shifted, `${basename(layer)}-${offset}`);
  if (existsSync(dir)) return dir;
  mkdirSync(ociPaths(storageDir).shifted, { recursive: true, mode: 0o711 });
  const tmp = tempPath(storageDir, 'shift');
  try {
    await run('cp', ['-a', '--reflink=auto', layer, tmp]);
    shiftTree(tmp, offset);
    try {
      renameSync(tmp, dir);
    } catch (e) {
      if (!existsSync(dir)) throw e; // another start shifted it first
    }
  } catch (cause) {
    throw new EngineError('RUNTIME_FAILED', `Cannot prepare the layer ${basename(layer).slice(0, 12)} for a strict container: ${(cause as Error).message}`, { cause });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return dir;
}

/**
 * The lower dirs (bottom first) for a container on layers, and the mount points no layer has made in
 * upper, owned by owner. With offset, strict's shifted copies are used.
 */
export async function prepareImageRoot(storageDir: string, layers: string[], upper: string, owner: number, offset?: number): Promise<string[]> {
  const lowers = offset ? await Promise.all(layers.map((l) => shiftedLayer(storageDir, l, offset))) : layers;
  for (const [m, mode] of MOUNT_POINTS) {
    if (lowers.some((l) => lstatSync(join(l, m), { throwIfNoEntry: false })?.isDirectory())) continue;
    const p = join(upper, m);
    if (!existsSync(p)) {
      mkdirSync(p, { mode });
      chmodSync(p, mode);
      // rootless, the container's root (0) is this user, who made it already: no other id is its to give
      if (process.getuid?.() === 0) lchownSync(p, owner, owner);
    }
  }
  const option = lowers.slice().reverse().join(':');
  if (option.length > 3500)
    throw new EngineError('HOST_UNSUPPORTED', `The image has ${layers.length} layers, more than one overlay mount can name from this storage directory (${option.length} bytes of paths). Use a shorter --storage path or an image with fewer layers.`);
  return lowers;
}
