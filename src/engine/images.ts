// The engine's image calls: import a rootfs tarball, list, remove.
import { resolve } from 'node:path';
import { importImage, removeImage } from '../images/importer.js';
import { listImages } from '../images/store.js';
import type { ImageRow } from '../state/types.js';
import type { EngineCore } from './core.js';

/** Import a root filesystem tarball (a path relative to the caller's directory) as a named image. */
export function importImageFile(core: EngineCore, file: string, name: string): Promise<ImageRow> {
  return importImage(core.store, core.settings.storageDir, resolve(file), name);
}

/** The built-in and imported images. */
export function imageList(core: EngineCore): ReturnType<typeof listImages> {
  return listImages(core.store);
}

/** Remove an imported image no container uses. */
export function removeImageNamed(core: EngineCore, name: string): void {
  removeImage(core.store, core.settings.storageDir, name);
}
