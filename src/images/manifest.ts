// OCI and Docker schema 2 manifests, indexes and image configs: parsed strictly, platform chosen for this host.
import { arch } from 'node:os';
import { z } from 'zod';
import { EngineError } from '../errors.js';
import { once } from '../once.js';
import { DIGEST_RE } from './blobs.js';

export const MT = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

/** What a registry is asked for: every manifest and index form codex32 reads. */
export const MANIFEST_ACCEPT = [MT.ociIndex, MT.dockerList, MT.ociManifest, MT.dockerManifest].join(', ');

/**
 * The schemas, built on first use: a command that reads no manifest (ps, inspect, exec) does not pay for
 * building them at start-up (docs/benchmarks.md).
 */
const schemas = once(() => {
  const Descriptor = z.object({
    mediaType: z.string().optional(),
    digest: z.string().regex(DIGEST_RE),
    size: z.number().int().nonnegative(),
    platform: z.object({ os: z.string(), architecture: z.string(), variant: z.string().optional() }).passthrough().optional(),
    annotations: z.record(z.string()).optional(),
  }).passthrough();

  const Manifest = z.object({
    schemaVersion: z.literal(2),
    mediaType: z.string().optional(),
    config: Descriptor,
    layers: z.array(Descriptor),
  }).passthrough();

  const Index = z.object({ schemaVersion: z.literal(2), mediaType: z.string().optional(), manifests: z.array(Descriptor) }).passthrough();

  const Health = z.object({ Test: z.array(z.string()).optional(), Interval: z.number().optional(), Timeout: z.number().optional(), StartPeriod: z.number().optional(), Retries: z.number().optional() }).passthrough();

  const ImageConfig = z.object({
    architecture: z.string().optional(),
    os: z.string().optional(),
    variant: z.string().optional(),
    created: z.string().optional(),
    config: z.object({
      User: z.string().optional(),
      Env: z.array(z.string()).nullish(),
      Entrypoint: z.array(z.string()).nullish(),
      Cmd: z.array(z.string()).nullish(),
      WorkingDir: z.string().optional(),
      ExposedPorts: z.record(z.unknown()).nullish(),
      Volumes: z.record(z.unknown()).nullish(),
      StopSignal: z.string().optional(),
      Labels: z.record(z.string()).nullish(),
      Healthcheck: Health.nullish(),
    }).passthrough().nullish(),
    rootfs: z.object({ type: z.literal('layers'), diff_ids: z.array(z.string().regex(DIGEST_RE)) }),
    history: z.array(z.unknown()).optional(),
  }).passthrough();
  return { Descriptor, Manifest, Index, ImageConfig };
});
type Schemas = ReturnType<typeof schemas>;
export type Descriptor = z.infer<Schemas['Descriptor']>;
export type Manifest = z.infer<Schemas['Manifest']>;
export type Index = z.infer<Schemas['Index']>;
export type ImageConfig = z.infer<Schemas['ImageConfig']>;

function parseJson<T>(schema: z.ZodType<T>, bytes: Buffer | string, what: string): T {
  let raw: unknown;
  try {
    raw = JSON.parse(String(bytes));
  } catch {
    throw new EngineError('INVALID_IMAGE', `Expected ${what} to be JSON, got \`${String(bytes).slice(0, 60).replace(/\s+/g, ' ')}\``);
  }
  const r = schema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new EngineError('INVALID_IMAGE', `Expected ${what} to be valid: ${i.path.join('.') || 'document'}: ${i.message}`);
  }
  return r.data;
}

/** A manifest or an index, told apart by media type or shape. */
export function parseManifestOrIndex(bytes: Buffer | string, mediaType?: string): { kind: 'index'; index: Index } | { kind: 'manifest'; manifest: Manifest } {
  let shape: { manifests?: unknown; mediaType?: string } = {};
  try {
    shape = JSON.parse(String(bytes));
  } catch {
    /* parseJson below gives the message */
  }
  const mt = shape?.mediaType ?? mediaType;
  if (mt === MT.ociIndex || mt === MT.dockerList || Array.isArray(shape?.manifests)) return { kind: 'index', index: parseJson(schemas().Index, bytes, 'the image index') };
  if (mt && mt !== MT.ociManifest && mt !== MT.dockerManifest && !mt.includes('json'))
    throw new EngineError('INVALID_IMAGE', `Expected an OCI or Docker schema 2 manifest, got media type \`${mt}\``);
  return { kind: 'manifest', manifest: parseJson(schemas().Manifest, bytes, 'the image manifest') };
}

/** Parse an image config blob. */
export function parseImageConfig(bytes: Buffer | string): ImageConfig {
  return parseJson(schemas().ImageConfig, bytes, 'the image config');
}

/** This host's platform in OCI terms. */
export function hostPlatform(): { os: string; architecture: string; variant?: string } {
  const a = arch();
  const map: Record<string, { architecture: string; variant?: string }> = { x64: { architecture: 'amd64' }, arm64: { architecture: 'arm64', variant: 'v8' }, arm: { architecture: 'arm', variant: 'v7' }, ia32: { architecture: '386' }, ppc64: { architecture: 'ppc64le' }, s390x: { architecture: 's390x' }, riscv64: { architecture: 'riscv64' } };
  return { os: 'linux', ...(map[a] ?? { architecture: a }) };
}

/** The index entry for linux on this host's architecture; refused when the index has none. */
export function choosePlatform(index: Index, ref: string): Descriptor {
  const want = hostPlatform();
  const candidates = index.manifests.filter((m) => m.platform?.os === want.os && m.platform.architecture === want.architecture);
  const pick = candidates.find((m) => !want.variant || !m.platform?.variant || m.platform.variant === want.variant) ?? candidates[0];
  if (!pick) {
    const have = index.manifests.map((m) => (m.platform ? `${m.platform.os}/${m.platform.architecture}${m.platform.variant ? '/' + m.platform.variant : ''}` : 'unknown')).join(', ');
    throw new EngineError('PLATFORM_MISMATCH', `The image ${ref} has no manifest for ${want.os}/${want.architecture} (it has: ${have || 'none'}).`);
  }
  return pick;
}

/** Refuse a config built for another platform (a single-platform image). */
export function checkConfigPlatform(config: ImageConfig, ref: string): void {
  const want = hostPlatform();
  if ((config.os && config.os !== want.os) || (config.architecture && config.architecture !== want.architecture))
    throw new EngineError('PLATFORM_MISMATCH', `The image ${ref} is for ${config.os}/${config.architecture}; this host runs ${want.os}/${want.architecture}.`);
}
