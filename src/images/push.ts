// `push`: upload an image's blobs the registry lacks, then its manifest under the target tag.
import { createReadStream, readFileSync } from 'node:fs';
import { EngineError } from '../errors.js';
import type { BlobStore } from './blobs.js';
import type { OciImage } from './catalog.js';
import type { PullEvent } from './pull.js';
import type { ImageReference } from './reference.js';
import { inParallel } from './register.js';
import type { RegistryClient } from './registry.js';

/** Upload one blob unless the registry has it (monolithic upload: POST, then PUT with the digest). */
async function pushBlob(client: RegistryClient, blobs: BlobStore, digest: string, onEvent: (e: PullEvent) => void): Promise<void> {
  const repo = client.repository;
  const head = await client.request('HEAD', `${repo}/blobs/${digest}`, `the blob ${digest}`, { allow: [404] });
  const size = blobs.size(digest);
  head.body.resume();
  if (head.status === 200) return onEvent({ digest, phase: 'exists', total: size });
  const start = await client.request('POST', `${repo}/blobs/uploads/`, `an upload to ${repo}`);
  await start.buffer();
  const location = start.headers.get('location');
  if (!location) throw new EngineError('REGISTRY_ERROR', `The registry ${client.registry} started an upload without a Location.`);
  const url = new URL(location, client.base);
  url.searchParams.set('digest', digest);
  onEvent({ digest, phase: 'downloading', current: 0, total: size });
  const put = await client.request('PUT', url.toString(), `the upload of ${digest}`, {
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) },
    body: () => createReadStream(blobs.path(digest)),
  });
  await put.buffer();
  onEvent({ digest, phase: 'done', total: size });
}

/** Push image to the repository and tag of target; returns the manifest digest. */
export async function push(blobs: BlobStore, client: RegistryClient, image: OciImage, target: ImageReference, onEvent: (e: PullEvent) => void): Promise<string> {
  const doc = image.doc;
  await inParallel([...doc.layers.map((l) => l.digest), doc.configDigest], 4, (d) => pushBlob(client, blobs, d, onEvent));
  const bytes = readFileSync(blobs.path(doc.manifestDigest));
  const res = await client.request('PUT', `${client.repository}/manifests/${target.tag ?? doc.manifestDigest}`, `the manifest of ${client.repository}`, {
    headers: { 'content-type': doc.manifestMediaType },
    body: () => bytes,
  });
  await res.buffer();
  return doc.manifestDigest;
}
