// docker import: a root filesystem tarball as a one-layer OCI image (the tarball itself is the layer).
import { EngineError } from '../errors.js';
import type { OciImage } from './catalog.js';
import { MT, type ImageConfig, type Manifest } from './manifest.js';
import { formatReference, parseReference } from './reference.js';
import { registerImage } from './register.js';
import type { ImageService } from './service.js';

/** Store the tar file as the single layer of a new image named target (docker's default tag: latest). */
export async function importLayer(svc: ImageService, file: string, target: string, source = '-'): Promise<OciImage> {
  const ref = parseReference(target);
  if (ref.digest) throw new EngineError('INVALID_CONFIG', `Expected an image name such as team/base:1, got the digest reference \`${target}\``);
  return svc.guarded(async () => {
    const blob = await svc.blobs.putFile(file);
    const now = new Date().toISOString();
    const config: ImageConfig = {
      architecture: process.arch === 'x64' ? 'amd64' : process.arch,
      os: 'linux',
      created: now,
      config: {},
      rootfs: { type: 'layers', diff_ids: [blob.digest] },
      history: [{ created: now, created_by: '', comment: `Imported from ${source}` }],
    } as ImageConfig;
    const cfg = await svc.blobs.putBytes(Buffer.from(JSON.stringify(config)));
    const manifest: Manifest = {
      schemaVersion: 2,
      mediaType: MT.ociManifest,
      config: { mediaType: MT.ociConfig, digest: cfg.digest, size: cfg.size },
      layers: [{ mediaType: MT.ociLayer, digest: blob.digest, size: blob.size }],
    } as Manifest;
    const bytes = Buffer.from(JSON.stringify(manifest));
    return registerImage(svc.storageDir, svc.blobs, svc.catalog, { manifest, manifestBytes: bytes, manifestMediaType: MT.ociManifest, tags: [formatReference(ref)], repoDigests: [], label: target });
  });
}
