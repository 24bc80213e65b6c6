// A new image from a base (or nothing): a new runtime config, a history entry and at most one new layer.
import { rmSync } from 'node:fs';
import { tempPath } from './blobs.js';
import type { OciImage } from './catalog.js';
import { writeLayer } from './layerwrite.js';
import { unpackLayer } from './layers.js';
import { hostPlatform, MT, type ImageConfig, type Manifest } from './manifest.js';
import { readAll, registerImage } from './register.js';
import type { ImageService } from './service.js';
import type { LayerScan } from './tarscan.js';

export type RuntimeConfig = NonNullable<ImageConfig['config']>;

export interface HistoryEntry {
  created_by: string;
  comment?: string;
  author?: string;
}

export interface DeriveInput {
  /** undefined: FROM scratch, an image with no layers */
  base?: OciImage;
  config: RuntimeConfig;
  history: HistoryEntry;
  /** a directory to add as a layer: an overlay upper dir (owners shifted down by offset) or new files */
  layer?: { dir: string; offset: number };
  tags: string[];
  /** set by a build: the key its cache finds the image by */
  build?: { key: string };
  label: string;
}

/** The config of an image with no layers on this platform (scratch). */
function scratchConfig(): ImageConfig {
  const p = hostPlatform();
  return { architecture: p.architecture, os: p.os, ...(p.variant ? { variant: p.variant } : {}), config: {}, rootfs: { type: 'layers', diff_ids: [] }, history: [] };
}

/**
 * Register an image derived from base: its layers (plus the new one, if any), the given runtime config and
 * one more history entry (`empty_layer` when no layer is added, as docker writes it). Layers already
 * unpacked are not read again; the new one is archived with commit's layer writer and unpacked once.
 */
export async function deriveImage(svc: ImageService, input: DeriveInput): Promise<OciImage> {
  return svc.guarded(async () => {
    const baseConfig = input.base?.doc.config ?? scratchConfig();
    const baseManifest: Manifest = input.base
      ? (JSON.parse(String(await readAll(svc.blobs.read(input.base.doc.manifestDigest)))) as Manifest)
      : { schemaVersion: 2, mediaType: MT.ociManifest, config: { mediaType: MT.ociConfig, digest: '', size: 0 }, layers: [] };
    const docker = input.base?.doc.manifestMediaType === MT.dockerManifest;
    const unpacked: Array<LayerScan & { dir: string }> = input.base
      ? svc.catalog.layers(input.base.id).map((l) => ({ diffId: l.diffId, size: l.size, entries: 0, opaque: [], whiteouts: [], devices: new Array<string>(l.devices).fill(''), compression: 'none', dir: '' }))
      : [];
    const layers = [...baseManifest.layers];
    const diffIds = [...baseConfig.rootfs.diff_ids];
    const file = tempPath(svc.storageDir, 'layer.tar');
    try {
      if (input.layer) {
        await writeLayer(svc.storageDir, input.layer.dir, file, input.layer.offset);
        const blob = await svc.blobs.putFile(file);
        const scan = await unpackLayer(svc.storageDir, svc.blobs.path(blob.digest), `${blob.digest.slice(7, 19)} of ${input.label}`, undefined, svc.blobs.journal.layers);
        unpacked.push(scan);
        layers.push({ mediaType: docker ? 'application/vnd.docker.image.rootfs.diff.tar' : MT.ociLayer, digest: blob.digest, size: blob.size });
        diffIds.push(scan.diffId);
      }
      const created = new Date().toISOString();
      const config: ImageConfig = {
        ...baseConfig,
        created,
        config: input.config,
        rootfs: { type: 'layers', diff_ids: diffIds },
        history: [...(baseConfig.history ?? []), { created, ...input.history, ...(input.layer ? {} : { empty_layer: true }) }],
      };
      const cfg = await svc.blobs.putBytes(Buffer.from(JSON.stringify(config)));
      const manifest: Manifest = { ...baseManifest, config: { mediaType: docker ? MT.dockerConfig : MT.ociConfig, digest: cfg.digest, size: cfg.size }, layers };
      return await registerImage(svc.storageDir, svc.blobs, svc.catalog, {
        manifest,
        manifestBytes: Buffer.from(JSON.stringify(manifest)),
        manifestMediaType: input.base?.doc.manifestMediaType ?? MT.ociManifest,
        tags: input.tags,
        repoDigests: [],
        label: input.label,
        unpacked,
        build: input.build,
      });
    } finally {
      rmSync(file, { force: true });
    }
  });
}
