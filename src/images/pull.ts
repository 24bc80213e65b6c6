// `pull`: resolve a reference on a registry, download manifest, config and layers (verified, in parallel), register.
import { Readable } from 'node:stream';
import type { ReadableStream as WebStream } from 'node:stream/web';
import { EngineError } from '../errors.js';
import { digestOf, type BlobStore } from './blobs.js';
import type { ImageCatalog, OciImage } from './catalog.js';
import { unpackLayer } from './layers.js';
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

/** Fetch a manifest (or index) by tag or digest; its bytes are verified against the digest asked for or announced. */
export async function fetchManifest(client: RegistryClient, reference: string): Promise<{ bytes: Buffer; mediaType: string; digest: string }> {
  const res = await client.request('GET', `${client.repository}/manifests/${reference}`, `the manifest ${client.repository}:${reference}`, { headers: { accept: MANIFEST_ACCEPT } });
  const bytes = Buffer.from(await res.arrayBuffer());
  const digest = digestOf(bytes);
  const announced = res.headers.get('docker-content-digest');
  const want = reference.startsWith('sha256:') ? reference : announced?.startsWith('sha256:') ? announced : undefined;
  if (want && want !== digest)
    throw new EngineError('DIGEST_MISMATCH', `The manifest ${client.repository}@${want} from ${client.registry} does not match its digest (got ${digest}). Nothing was stored.`);
  return { bytes, mediaType: (res.headers.get('content-type') ?? '').split(';')[0], digest };
}

/** Download one blob into the store, verified; skipped when already stored. */
async function fetchBlob(client: RegistryClient, blobs: BlobStore, digest: string, size: number, onEvent: (e: PullEvent) => void): Promise<void> {
  if (blobs.has(digest)) return onEvent({ digest, phase: 'exists', total: size });
  const res = await client.request('GET', `${client.repository}/blobs/${digest}`, `the blob ${digest}`);
  if (!res.body) throw new EngineError('REGISTRY_ERROR', `The registry ${client.registry} sent no content for ${digest}.`);
  let current = 0;
  let last = 0;
  onEvent({ digest, phase: 'downloading', current, total: size });
  await blobs.put(Readable.fromWeb(res.body as unknown as WebStream), digest, (n) => {
    current += n;
    if (current - last >= 256 * 1024 || current === size) (last = current), onEvent({ digest, phase: 'downloading', current, total: size });
  });
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
    await fetchBlob(client, ctx.blobs, l.digest, l.size, onEvent);
    onEvent({ digest: l.digest, phase: 'unpacking' });
    const u = await unpackLayer(ctx.storageDir, ctx.blobs.path(l.digest), `${l.digest.slice(7, 19)} of ${name}`, config.rootfs.diff_ids[i], ctx.blobs.journal.layers);
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

