// `load -i`: docker-archive (docker save, podman save) and oci-archive (podman, skopeo) into the store.
import { existsSync, mkdirSync, readFileSync, realpathSync, rmSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import { z } from 'zod';
import { EngineError } from '../errors.js';
import { tempPath, type BlobStore } from './blobs.js';
import type { ImageCatalog, OciImage } from './catalog.js';
import { choosePlatform, MT, parseManifestOrIndex, type Manifest } from './manifest.js';
import { formatReference, parseReference } from './reference.js';
import { registerImage } from './register.js';
import { sniffCompression } from './tarscan.js';

const DockerManifest = z.array(z.object({ Config: z.string(), RepoTags: z.array(z.string()).nullish(), Layers: z.array(z.string()) }).passthrough()).min(1);

/** Unpack the outer archive (regular files, directories and inward symlinks only) into dir. */
async function extractOuter(file: string, dir: string): Promise<void> {
  const { x } = await import('tar');
  const bad: string[] = [];
  let broken: string | undefined;
  await x({
    file,
    cwd: dir,
    strict: true,
    preserveOwner: false,
    filter: (p, e) => {
      const entry = e as { type?: string; linkpath?: string };
      const n = posix.normalize(p);
      if (p.startsWith('/') || n.split('/').includes('..')) bad.push(`${p} (path leaves the archive)`);
      else if (entry.type === 'SymbolicLink') {
        const t = posix.normalize(posix.join(posix.dirname(n), entry.linkpath ?? ''));
        if ((entry.linkpath ?? '').startsWith('/') || t === '..' || t.startsWith('../')) bad.push(`${p} -> ${entry.linkpath} (link points outside the archive)`);
      } else if (entry.type !== 'File' && entry.type !== 'OldFile' && entry.type !== 'Directory') bad.push(`${p} (a ${entry.type} entry)`);
      return bad.length === 0;
    },
    onwarn: (code: string, msg: string | Error) => void (broken ??= `${code}: ${msg instanceof Error ? msg.message : msg}`),
  }).catch((cause: Error) => {
    throw new EngineError('INVALID_IMAGE', `Cannot read the archive ${file}: ${cause.message}. It is truncated or not a tar archive.`, { cause });
  });
  if (bad.length) throw new EngineError('INVALID_IMAGE', `Refusing the archive ${file}: ${bad.slice(0, 5).join('; ')}`);
  if (broken) throw new EngineError('INVALID_IMAGE', `The archive ${file} is truncated or corrupt (${broken}).`);
}

/** A member file of the unpacked archive, refused when it resolves outside it. */
function member(dir: string, name: string): string {
  const p = join(dir, posix.normalize(name));
  let real: string;
  try {
    real = realpathSync(p);
  } catch {
    throw new EngineError('INVALID_IMAGE', `The archive names ${name}, which it does not contain. It is truncated or incomplete.`);
  }
  if (!real.startsWith(realpathSync(dir) + '/') || !statSync(real).isFile()) throw new EngineError('INVALID_IMAGE', `The archive member ${name} is not a file inside the archive.`);
  return real;
}

const LAYER_TYPES = { none: 'application/vnd.docker.image.rootfs.diff.tar', gzip: MT.dockerLayerGzip, zstd: 'application/vnd.oci.image.layer.v1.tar+zstd' };

async function loadDocker(dir: string, ctx: LoadContext): Promise<OciImage[]> {
  let entries;
  try {
    entries = DockerManifest.parse(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')));
  } catch (cause) {
    throw new EngineError('INVALID_IMAGE', `The archive's manifest.json is not a docker-archive manifest: ${(cause as Error).message.slice(0, 200)}`, { cause });
  }
  const out: OciImage[] = [];
  for (const e of entries) {
    const named = /([a-f0-9]{64})\.json$/.exec(e.Config);
    const config = await ctx.blobs.putFile(member(dir, e.Config), named ? `sha256:${named[1]}` : undefined);
    const layers = [];
    for (const l of e.Layers) {
      const file = member(dir, l);
      const blob = await ctx.blobs.putFile(file);
      layers.push({ mediaType: LAYER_TYPES[await sniffCompression(file)], digest: blob.digest, size: blob.size });
    }
    const manifest: Manifest = { schemaVersion: 2, mediaType: MT.dockerManifest, config: { mediaType: MT.dockerConfig, digest: config.digest, size: config.size }, layers };
    const tags = (e.RepoTags ?? []).map((t) => formatReference(parseReference(t)));
    out.push(await registerImage(ctx.storageDir, ctx.blobs, ctx.catalog, { manifest, manifestBytes: Buffer.from(JSON.stringify(manifest)), manifestMediaType: MT.dockerManifest, tags, repoDigests: [], label: tags[0] ?? e.Config }));
  }
  return out;
}

/** The name an OCI layout gives an image: containerd's full name, else a ref.name that is a full reference. */
function ociName(annotations: Record<string, string> | undefined): string | undefined {
  const n = annotations?.['io.containerd.image.name'] ?? annotations?.['org.opencontainers.image.ref.name'];
  if (!n || !/[/:]/.test(n)) return undefined; // a bare tag names no repository
  try {
    return formatReference(parseReference(n));
  } catch {
    return undefined;
  }
}

async function loadOci(dir: string, ctx: LoadContext): Promise<OciImage[]> {
  const blob = async (digest: string) => {
    await ctx.blobs.putFile(member(dir, `blobs/sha256/${digest.slice(7)}`), digest);
    return readFileSync(ctx.blobs.path(digest));
  };
  const top = parseManifestOrIndex(readFileSync(member(dir, 'index.json')));
  if (top.kind !== 'index') throw new EngineError('INVALID_IMAGE', 'The oci-archive has an index.json that is not an image index.');
  const out: OciImage[] = [];
  for (const d of top.index.manifests) {
    const name = ociName(d.annotations);
    let desc = d;
    let bytes = await blob(desc.digest);
    let parsed = parseManifestOrIndex(bytes, desc.mediaType);
    if (parsed.kind === 'index') {
      desc = choosePlatform(parsed.index, name ?? desc.digest);
      bytes = await blob(desc.digest);
      parsed = parseManifestOrIndex(bytes, desc.mediaType);
    }
    if (parsed.kind !== 'manifest') throw new EngineError('INVALID_IMAGE', 'The oci-archive nests indexes more than one level deep.');
    const m = parsed.manifest;
    await blob(m.config.digest);
    for (const l of m.layers) await ctx.blobs.putFile(member(dir, `blobs/sha256/${l.digest.slice(7)}`), l.digest);
    out.push(await registerImage(ctx.storageDir, ctx.blobs, ctx.catalog, { manifest: m, manifestBytes: bytes, manifestMediaType: m.mediaType ?? desc.mediaType ?? MT.ociManifest, tags: name ? [name] : [], repoDigests: [], label: name ?? desc.digest }));
  }
  return out;
}

interface LoadContext {
  storageDir: string;
  blobs: BlobStore;
  catalog: ImageCatalog;
}

/** Load every image of a docker-archive or oci-archive file; each image is registered whole or not at all. */
export async function loadArchive(ctx: LoadContext, file: string): Promise<OciImage[]> {
  if (!existsSync(file) || !statSync(file).isFile()) throw new EngineError('INVALID_CONFIG', `Expected \`-i\` to be an image archive file, got \`${file}\``);
  const dir = tempPath(ctx.storageDir, 'load');
  mkdirSync(dir, { mode: 0o700 });
  try {
    await extractOuter(file, dir);
    if (existsSync(join(dir, 'manifest.json'))) return await loadDocker(dir, ctx);
    if (existsSync(join(dir, 'oci-layout')) && existsSync(join(dir, 'index.json'))) return await loadOci(dir, ctx);
    throw new EngineError('INVALID_IMAGE', `The archive ${file} is neither a docker-archive (no manifest.json) nor an oci-archive (no oci-layout and index.json).`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
