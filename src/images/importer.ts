// Import a root filesystem tarball as a named image, and remove images no container uses.
import { existsSync, mkdirSync, readdirSync, rmSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { validateArchive } from './archive.js';
import { validateName } from '../config/names.js';
import { EngineError } from '../errors.js';
import type { StateStore } from '../state/store.js';
import type { ImageRow } from '../state/types.js';
import { imageDir } from './store.js';
import { runCommand } from '../runtime/command.js';

/** Directories every container root needs as mount points: made at import so no run has to write the image. */
const MOUNT_POINTS = ['proc', 'sys', 'dev', 'tmp', 'app', 'etc'];

function du(dir: string): { size: number; files: number } {
  let size = 0;
  let files = 0;
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      const st = statSync(p, { throwIfNoEntry: false });
      if (!st || e.isSymbolicLink()) continue;
      files++;
      if (e.isDirectory()) walk(p);
      else size += st.size;
    }
  };
  walk(dir);
  return { size, files };
}

/** Unpack file (a rootfs tarball such as `docker export` or debootstrap makes) as image name. */
export async function importImage(store: StateStore, storageDir: string, file: string, name: string): Promise<ImageRow> {
  validateName(name);
  if (name === 'host') throw new EngineError('IMAGE_EXISTS', 'The name `host` is the built-in image. Choose another name.');
  if (store.getImage(name)) throw new EngineError('IMAGE_EXISTS', `An image named \`${name}\` already exists. Remove it with \`codex32 image rm ${name}\` or choose another name.`);
  if (!existsSync(file)) throw new EngineError('INVALID_CONFIG', `Expected a readable tar file, got \`${file}\``);
  await validateArchive(file, { allowAbsoluteLinks: true });
  const final = join(storageDir, 'images', name);
  const tmp = `${final}.importing-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(tmp, 'rootfs'), { recursive: true, mode: 0o755 });
  try {
    const r = await runCommand('tar', ['-xpf', file, '-C', join(tmp, 'rootfs'), '--numeric-owner', '--no-overwrite-dir']).catch((e: Error) => ({ code: -1, stderr: e.message }));
    if (r.code !== 0) throw new EngineError('INVALID_CONFIG', `Cannot unpack ${file}: ${r.stderr.trim()}`);
    for (const m of MOUNT_POINTS) {
      const p = join(tmp, 'rootfs', m);
      const st = statSync(p, { throwIfNoEntry: false });
      if (!st) mkdirSync(p, { mode: m === 'tmp' ? 0o1777 : 0o755 });
    }
    const { size, files } = du(join(tmp, 'rootfs'));
    const row: ImageRow = { name, kind: 'rootfs', createdAt: Date.now(), doc: { path: imageDir(storageDir, name), size, files, source: file } };
    renameSync(tmp, final);
    try {
      store.tx(() => store.insertImage(row));
    } catch (e) {
      rmSync(final, { recursive: true, force: true });
      throw e;
    }
    return row;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Remove a stored image; refused while a container uses it. */
export function removeImage(store: StateStore, storageDir: string, name: string): void {
  validateName(name);
  if (name === 'host') throw new EngineError('INVALID_CONFIG', 'The built-in image `host` cannot be removed.');
  if (!store.getImage(name)) throw new EngineError('NO_SUCH_IMAGE', `No image named \`${name}\`. Run \`codex32 images\` to list them.`);
  const users = store.listContainers().filter((c) => c.config.image === name);
  if (users.length)
    throw new EngineError('IMAGE_IN_USE', `The image \`${name}\` is used by ${users.map((u) => u.name).join(', ')}. Remove those containers first.`);
  store.tx(() => store.deleteImage(name));
  rmSync(join(storageDir, 'images', name), { recursive: true, force: true });
}
