// `commit`: a container's overlay upper dir as a new layer (overlay whiteouts back to OCI ones) on its image.
import { execFileAsync } from '../lazy.js';
import { lstatSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EngineError } from '../errors.js';
import { tempPath } from './blobs.js';
import type { OciImage } from './catalog.js';
import type { ImageService } from './service.js';
import { MT, type ImageConfig, type Manifest } from './manifest.js';
import { formatReference, parseReference } from './reference.js';
import { readAll, registerImage } from './register.js';

const run = execFileAsync;

/** What codex32 mounts over in every container: mount points and bound files, never part of an image (docker's rule too). */
const RUNTIME_PATHS = ['etc/hosts', 'etc/resolv.conf', 'etc/hostname', 'proc', 'sys', 'dev', 'tmp'];

interface UpperScan {
  whiteouts: string[];
  opaque: string[];
  ids: Set<number>;
}

/** Walk an overlay upper dir: 0/0 character devices are whiteouts; collect owners for unshifting. */
async function scanUpper(upper: string): Promise<UpperScan> {
  const scan: UpperScan = { whiteouts: [], opaque: [], ids: new Set() };
  const walk = (rel: string) => {
    for (const name of readdirSync(join(upper, rel))) {
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(upper, r));
      scan.ids.add(st.uid).add(st.gid);
      if (st.isCharacterDevice() && st.rdev === 0) scan.whiteouts.push(r);
      else if (st.isDirectory()) walk(r);
    }
  };
  walk('');
  const attrs = await run('getfattr', ['-R', '-n', 'trusted.overlay.opaque', '--absolute-names', upper], { maxBuffer: 64 * 1024 * 1024 }).catch((e: { stdout?: string }) => ({ stdout: e.stdout ?? '' }));
  for (const m of String(attrs.stdout).matchAll(/^# file: (.*)\ntrusted\.overlay\.opaque="y"/gm)) if (m[1] !== upper) scan.opaque.push(m[1].slice(upper.length + 1));
  return scan;
}

/** Write the layer tar of upper at file: its content, minus overlay whiteouts, plus OCI markers; owners shifted back by offset. */
async function writeLayer(storageDir: string, upper: string, file: string, offset: number): Promise<void> {
  const scan = await scanUpper(upper);
  const work = tempPath(storageDir, 'commit');
  mkdirSync(work, { mode: 0o700 });
  try {
    const markers: string[] = [];
    for (const w of scan.whiteouts) {
      const i = w.lastIndexOf('/');
      markers.push(i < 0 ? `.wh.${w}` : `${w.slice(0, i)}/.wh.${w.slice(i + 1)}`);
    }
    for (const d of scan.opaque) markers.push(`${d}/.wh..wh..opq`);
    for (const m of markers) {
      mkdirSync(join(work, 'markers', m, '..'), { recursive: true });
      writeFileSync(join(work, 'markers', m), '');
    }
    writeFileSync(join(work, 'exclude'), [...scan.whiteouts, ...RUNTIME_PATHS].map((w) => `./${w}\n`).join(''));
    const map = [...scan.ids].filter((id) => id >= offset).map((id) => `+${id} +${id - offset}\n`).join('');
    writeFileSync(join(work, 'idmap'), map);
    const common = ['--numeric-owner', `--owner-map=${join(work, 'idmap')}`, `--group-map=${join(work, 'idmap')}`, '--sort=name', '--xattrs', '--xattrs-include=user.*', '--xattrs-include=security.capability'];
    await run('tar', ['-cf', file, ...common, '--anchored', '--no-wildcards', `--exclude-from=${join(work, 'exclude')}`, '-C', upper, '.']);
    if (markers.length) await run('tar', ['-rf', file, '--owner=0', '--group=0', '--numeric-owner', '--no-recursion', '-C', join(work, 'markers'), ...markers]);
  } catch (cause) {
    throw new EngineError('RUNTIME_FAILED', `Cannot archive the container's changes: ${(cause as { stderr?: string }).stderr ?? (cause as Error).message}`, { cause });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export interface CommitInput {
  upper: string;
  /** owner offset of the upper dir (strict's shifted ids), 0 otherwise */
  offset: number;
  /** the container's own settings, which the new image carries as its config */
  container: { entrypoint?: string[]; command: string[]; env: Record<string, string>; workdir?: string; user?: { uid: number; gid: number }; labels: Record<string, string> };
  author?: string;
}

/** Commit a container's changes on base as image target; returns the new image. */
export async function commitContainer(svc: ImageService, base: OciImage, input: CommitInput, target: string): Promise<OciImage> {
  const ref = parseReference(target);
  if (!ref.tag || ref.digest) throw new EngineError('INVALID_CONFIG', `Expected the image name to carry a tag such as team/bot:2, got \`${target}\``);
  return svc.guarded(async () => {
    const file = tempPath(svc.storageDir, 'layer.tar');
    try {
      await writeLayer(svc.storageDir, input.upper, file, input.offset);
      const blob = await svc.blobs.putFile(file);
      const baseManifest = JSON.parse(String(await readAll(svc.blobs.read(base.doc.manifestDigest)))) as Manifest;
      const docker = base.doc.manifestMediaType === MT.dockerManifest;
      const c = input.container;
      const config: ImageConfig = {
        ...base.doc.config,
        created: new Date().toISOString(),
        config: {
          ...(base.doc.config.config ?? {}),
          Env: Object.entries(c.env).map(([k, v]) => `${k}=${v}`),
          Entrypoint: c.entrypoint?.length ? c.entrypoint : null,
          Cmd: c.command,
          WorkingDir: c.workdir ?? '',
          User: c.user ? `${c.user.uid}:${c.user.gid}` : '',
          Labels: c.labels,
        },
        rootfs: { type: 'layers', diff_ids: [...base.doc.config.rootfs.diff_ids, blob.digest] },
        history: [...(base.doc.config.history ?? []), { created: new Date().toISOString(), created_by: 'codex32 commit', author: input.author }],
      };
      const configBytes = Buffer.from(JSON.stringify(config));
      const cfg = await svc.blobs.putBytes(configBytes);
      const manifest: Manifest = {
        ...baseManifest,
        config: { mediaType: docker ? MT.dockerConfig : MT.ociConfig, digest: cfg.digest, size: cfg.size },
        layers: [...baseManifest.layers, { mediaType: docker ? 'application/vnd.docker.image.rootfs.diff.tar' : MT.ociLayer, digest: blob.digest, size: blob.size }],
      };
      const bytes = Buffer.from(JSON.stringify(manifest));
      return await registerImage(svc.storageDir, svc.blobs, svc.catalog, { manifest, manifestBytes: bytes, manifestMediaType: base.doc.manifestMediaType, tags: [formatReference(ref)], repoDigests: [], label: target });
    } finally {
      rmSync(file, { force: true });
    }
  });
}
