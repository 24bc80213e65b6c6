// `pull`: resolve a reference on a registry, download manifest, config and layers (verified, in parallel), register.
import type { Writable } from 'node:stream';
import { EngineError } from '../errors.js';
import { digestOf, type BlobStore } from './blobs.js';
import type { ImageCatalog, OciImage } from './catalog.js';
import { unpackLayer } from './layers.js';
import { scanWhileReceiving, type LayerScan } from './tarscan.js';
import { choosePlatform, MANIFEST_ACCEPT, MT, parseImageConfig, parseManifestOrIndex, checkConfigPlatform, type Manifest } from './manifest.js';
import { formatReference, repoName, type ImageReference } from './reference.js';
import { inParallel, readAll, registerImage } from './register.js';
import type { RegistryClient } from './registry.js';

/** What a pull reports as it goes, one event per change of a blob's phase or progress. */
export interface PullEvent {
  digest: string;
  phase: 'resolving' | 'exists' | 'downloading' | 'unpacking' | 'done';
  current?: number;
  total?: number;
}

/** A layer's compression from its media type; undefined when the type does not say. */
function layerCompression(mediaType: string | undefined): LayerScan['compression'] | undefined {
  if (!mediaType) return undefined;
  if (/(\+|\.)gzip$/.test(mediaType)) return 'gzip';
  if (/\+zstd$/.test(mediaType)) return 'zstd';
  if (/(\.|\/)tar$/.test(mediaType) || mediaType.endsWith('diff.tar')) return 'none';
  return undefined;
}

/** Fetch a manifest (or index) by tag or digest; its bytes are verified against the digest asked for or announced. */
export async function fetchManifest(client: RegistryClient, reference: string): Promise<{ bytes: Buffer; mediaType: string; digest: string }> {
  const res = await client.request('GET', `${client.repository}/manifests/${reference}`, `the manifest ${client.repository}:${reference}`, { headers: { accept: MANIFEST_ACCEPT } });
  const bytes = await res.buffer();
  const digest = digestOf(bytes);
  const announced = res.headers.get('docker-content-digest');
  const want = reference.startsWith('sha256:') ? reference : announced?.startsWith('sha256:') ? announced : undefined;
  if (want && want !== digest)
    throw new EngineError('DIGEST_MISMATCH', `The manifest ${client.repository}@${want} from ${client.registry} does not match its digest (got ${digest}). Nothing was stored.`);
  return { bytes, mediaType: (res.headers.get('content-type') ?? '').split(';')[0], digest };
}

/** Download one blob into the store, verified; skipped when already stored. */
async function fetchBlob(client: RegistryClient, blobs: BlobStore, digest: string, size: number, onEvent: (e: PullEvent) => void, tap?: Writable): Promise<void> {
  if (blobs.has(digest)) {
    tap?.destroy();
    return onEvent({ digest, phase: 'exists', total: size });
  }
  const res = await client.request('GET', `${client.repository}/blobs/${digest}`, `the blob ${digest}`);
  let current = 0;
  let last = 0;
  onEvent({ digest, phase: 'downloading', current, total: size });
  await blobs.put(res.body, digest, (n) => {
    current += n;
    if (current - last >= 256 * 1024 || current === size) (last = current), onEvent({ digest, phase: 'downloading', current, total: size });
  }, tap);
}

/** Pull ref from its registry into the store; returns the registered image. */
export async function pull(ctx: { storageDir: string; blobs: BlobStore; catalog: ImageCatalog }, client: RegistryClient, ref: ImageReference, onEvent: (e: PullEvent) => void): Promise<OciImage> {
  const name = formatReference(ref);
  const top = await fetchManifest(client, ref.digest ?? ref.tag!);
  let chosen = top;
  const parsedTop = parseManifestOrIndex(top.bytes, top.mediaType);
  let manifest: Manifest;
  if (parsedTop.kind === 'index') {
    const d = choosePlatform(parsedTop.index, name);
    chosen = await fetchManifest(client, d.digest);
    const inner = parseManifestOrIndex(chosen.bytes, chosen.mediaType);
    if (inner.kind !== 'manifest') throw new EngineError('INVALID_IMAGE', `The index of ${name} points at another index; codex32 reads one level.`);
    manifest = inner.manifest;
  } else manifest = parsedTop.manifest;
  onEvent({ digest: manifest.config.digest, phase: 'resolving' });
  await fetchBlob(client, ctx.blobs, manifest.config.digest, manifest.config.size, () => undefined);
  const config = parseImageConfig(await readAll(ctx.blobs.read(manifest.config.digest)));
  checkConfigPlatform(config, name);
  if (config.rootfs.diff_ids.length !== manifest.layers.length)
    throw new EngineError('INVALID_IMAGE', `The image ${name} lists ${manifest.layers.length} layers but its config has ${config.rootfs.diff_ids.length} DiffIDs.`);
  // download and unpack each layer as soon as it arrives; four at a time, as docker does by default
  const unpacked = await inParallel(manifest.layers, 4, async (l, i) => {
    const label = `${l.digest.slice(7, 19)} of ${name}`;
    // the layer is scanned as it arrives, so only extraction is left once it is stored; a scan that
    // fails here (a media type that misstates the compression) is made again from the stored file
    const compression = layerCompression(l.mediaType);
    const early = compression && !ctx.blobs.has(l.digest) ? scanWhileReceiving(compression, label) : undefined;
    await fetchBlob(client, ctx.blobs, l.digest, l.size, onEvent, early?.sink);
    const scan = await early?.result.catch(() => undefined);
    onEvent({ digest: l.digest, phase: 'unpacking' });
    const u = await unpackLayer(ctx.storageDir, ctx.blobs.path(l.digest), label, config.rootfs.diff_ids[i], ctx.blobs.journal.layers, scan);
    onEvent({ digest: l.digest, phase: 'done', total: l.size });
    return u;
  });
  return registerImage(ctx.storageDir, ctx.blobs, ctx.catalog, {
    manifest,
    manifestBytes: chosen.bytes,
    manifestMediaType: manifest.mediaType ?? (chosen.mediaType || MT.ociManifest),
    tags: ref.tag ? [name] : [],
    repoDigests: [`${repoName(ref)}@${top.digest}`],
    label: name,
    unpacked,
  });
}

