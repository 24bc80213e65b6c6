// An image's merged root, read-only, for what a step reads from it: COPY --from, and the parents a COPY writes into.
import { runFile } from '../runtime/command.js';
import { chmodSync, lchownSync, lstatSync, mkdirSync, rmSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { EngineError } from '../errors.js';
import { tempPath } from '../images/blobs.js';
import type { OciImage } from '../images/catalog.js';
import { layerDir } from '../images/layers.js';
import type { ImageService } from '../images/service.js';

/** The unpacked layer directories of image, bottom first (none for scratch). */
export function imageLayers(svc: ImageService, image: OciImage | undefined): string[] {
  return image ? svc.catalog.layers(image.id).map((l) => layerDir(svc.storageDir, l.diffId)) : [];
}

/**
 * Run fn with the image's root at a directory: one layer is its own directory, several are mounted as a
 * read-only overlay (no upper dir) and unmounted after; scratch is an empty directory.
 */
export async function withImageRoot<T>(svc: ImageService, image: OciImage | undefined, fn: (root: string) => Promise<T> | T): Promise<T> {
  const layers = imageLayers(svc, image);
  if (layers.length === 1) return fn(layers[0]);
  const dir = tempPath(svc.storageDir, 'buildroot');
  mkdirSync(dir, { mode: 0o700 });
  let mounted = false;
  try {
    if (layers.length > 1) {
      await runFile('mount', ['-t', 'overlay', 'overlay', '-o', `ro,lowerdir=${layers.slice().reverse().join(':')}`, dir]).catch((cause: Error & { stderr?: string }) => {
        throw new EngineError('RUNTIME_FAILED', `Cannot mount the image's layers to read them: ${(cause.stderr ?? cause.message).trim()}`, { cause });
      });
      mounted = true;
    }
    return await fn(dir);
  } finally {
    if (mounted) await runFile('umount', [dir]).catch(() => runFile('umount', ['-l', dir]));
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Make dir (relative) and its parents in a new layer's directory: a directory the image already has keeps
 * its mode, owner and time (as overlay's copy-up would); a new one is 0755, owned by owner.
 */
export function makeParents(layer: string, imageRoot: string, rel: string, owner: { uid: number; gid: number }): void {
  const parts = rel.split('/').filter(Boolean);
  for (let i = 1; i <= parts.length; i++) {
    const r = parts.slice(0, i).join('/');
    const to = join(layer, r);
    const made = lstatSync(to, { throwIfNoEntry: false });
    if (made?.isSymbolicLink()) throw new EngineError('INVALID_CONFIG', `Cannot copy into /${r}: it is a symbolic link this step also copies`);
    if (made) continue;
    const old = lstatSync(join(imageRoot, r), { throwIfNoEntry: false });
    mkdirSync(to);
    if (old?.isDirectory()) {
      lchownSync(to, old.uid, old.gid);
      chmodSync(to, old.mode & 0o7777);
      utimesSync(to, old.atime, old.mtime);
    } else {
      lchownSync(to, owner.uid, owner.gid);
      chmodSync(to, 0o755);
    }
  }
}

/** A fresh directory for a new layer's files (the caller removes it). */
export function stagingDir(svc: ImageService): string {
  const dir = tempPath(svc.storageDir, 'buildlayer');
  mkdirSync(dir, { mode: 0o755 });
  return dir;
}

