// Turn stored blobs (manifest, config, layers) into a registered image: layers unpacked once, all or nothing.
import { EngineError } from '../errors.js';
import type { BlobStore } from './blobs.js';
import { digestOf } from './blobs.js';
import type { ImageCatalog, LayerRef, OciImage } from './catalog.js';
import { unpackLayer } from './layers.js';
import type { LayerScan } from './tarscan.js';
import { checkConfigPlatform, MT, parseImageConfig, type Manifest } from './manifest.js';

export interface RegisterInput {
  manifest: Manifest;
  manifestBytes: Buffer;
  manifestMediaType: string;
  tags: string[];
  repoDigests: string[];
  /** how the image is named in messages */
  label: string;
  /** called as each layer is unpacked */
  onLayer?: (digest: string, state: 'unpacking' | 'done') => void;
  /** layers the caller already unpacked (a pull unpacks each as it arrives), in manifest order */
  unpacked?: Array<LayerScan & { dir: string }>;
  /** the build step that made the image (its cache key) */
  build?: { key: string };
}

/** Run fn over items, at most limit at a time; rejects with the first failure after all settle. */
export async function inParallel<T, R>(items: T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  let failure: unknown;
  const worker = async () => {
    while (next < items.length && failure === undefined) {
      const i = next++;
      try {
        out[i] = await fn(items[i], i);
      } catch (e) {
        failure ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure !== undefined) throw failure;
  return out;
}

/**
 * Register an image whose config and layer blobs are in the store: the config is checked against
 * this platform, every layer is unpacked (or found already unpacked) and matched to the config's
 * DiffIDs, then image, layers, blobs and tags are recorded in one transaction.
 */
export async function registerImage(storageDir: string, blobs: BlobStore, catalog: ImageCatalog, input: RegisterInput): Promise<OciImage> {
  const { manifest } = input;
  if (!blobs.has(manifest.config.digest)) throw new EngineError('INVALID_IMAGE', `The config blob ${manifest.config.digest} of ${input.label} is missing.`);
  const config = parseImageConfig(await readAll(blobs.read(manifest.config.digest)));
  checkConfigPlatform(config, input.label);
  const diffIds = config.rootfs.diff_ids;
  if (diffIds.length !== manifest.layers.length)
    throw new EngineError('INVALID_IMAGE', `The image ${input.label} lists ${manifest.layers.length} layers but its config has ${diffIds.length} DiffIDs.`);
  const unpacked = input.unpacked ?? await inParallel(manifest.layers, 2, async (l, i) => {
    input.onLayer?.(l.digest, 'unpacking');
    const r = await unpackLayer(storageDir, blobs.path(l.digest), `${l.digest.slice(7, 19)} of ${input.label}`, diffIds[i], blobs.journal.layers);
    input.onLayer?.(l.digest, 'done');
    return r;
  });
  const manifestDigest = digestOf(input.manifestBytes);
  await blobs.putBytes(input.manifestBytes, manifestDigest);
  const layers: LayerRef[] = manifest.layers.map((l, i) => ({ digest: l.digest, mediaType: l.mediaType ?? MT.ociLayerGzip, size: l.size, diffId: diffIds[i] }));
  return catalog.register({
    id: manifest.config.digest,
    doc: {
      manifestDigest,
      manifestMediaType: input.manifestMediaType,
      configDigest: manifest.config.digest,
      layers,
      config,
      size: unpacked.reduce((s, u) => s + u.size, 0),
      repoDigests: input.repoDigests,
      ...(input.build ? { build: input.build } : {}),
    },
    layers: unpacked.map((u) => ({ diffId: u.diffId, size: u.size, devices: u.devices.length })),
    blobs: [manifestDigest, manifest.config.digest, ...manifest.layers.map((l) => l.digest)],
    tags: input.tags,
  });
}

/** Read a whole stream into a buffer. */
export async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks);
}
