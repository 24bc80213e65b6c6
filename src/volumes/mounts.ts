// A container's volumes: `-v NAME:/path` and `--mount type=volume` resolved to their volume, --volumes-from
// copied from another container, and at create the volumes made and filled from the image (copy-up).
import { chownSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { rootlessHost } from '../runtime/rootless.js';
import { randomBytes } from '../lazy.js';
import type { ContainerConfig, ResolvedConfig } from '../config/schema.js';
import { EngineError, expected } from '../errors.js';
import type { ContainerImage } from '../images/store.js';
import type { EngineCore } from '../engine/core.js';
import { copyUp } from './copyup.js';
import { parseDriverOpts, validateVolumeName, volumePaths } from './driver.js';
import { EngineVolumes } from './service.js';
import { VolumeTable } from './table.js';

type VolumeInput = NonNullable<ContainerConfig['volumes']>[number];
type VolumeEntry = ResolvedConfig['volumes'][number];

/** True when an entry names a volume rather than a host path: docker's rule, a source without a slash (or none). */
export function isNamedSource(v: { source: string; type?: 'bind' | 'volume' }): boolean {
  if (v.type) return v.type === 'volume';
  const s = v.source;
  return s === '' || (!s.includes('/') && !s.startsWith('.') && !s.startsWith('~'));
}

/** A named (or anonymous, when its source is empty) entry resolved to what the container mounts; nothing written. */
export function resolveNamed(core: EngineCore, v: VolumeInput): VolumeEntry {
  const anonymous = v.source === '';
  const name = anonymous ? randomBytes(32).toString('hex') : validateVolumeName(v.source);
  const row = anonymous ? undefined : new VolumeTable(core.store).get(name);
  const mount = parseDriverOpts(row?.options ?? {});
  if (mount.kind === 'tmpfs' && v.readOnly)
    throw new EngineError('INVALID_CONFIG', `The volume ${name} is a tmpfs, which each container gets empty: mounting it read-only would leave it empty for good. Mount it without :ro.`, { context: { volume: name } });
  return {
    source: mount.kind === 'bind' ? mount.device : volumePaths(core.settings.storageDir, name).data,
    target: v.target,
    readOnly: v.readOnly ?? false,
    name,
    ...(anonymous ? { anonymous: true } : {}),
    ...(mount.kind === 'tmpfs' ? { tmpfs: { ...(mount.size ? { size: mount.size } : {}), ...(mount.mode !== undefined ? { mode: mount.mode } : {}) } } : {}),
    ...(v.noCopy ? { noCopy: true } : {}),
  };
}

/** The mounts of the containers named by --volumes-from (CONTAINER[:ro|rw]) that the container does not mount itself. */
export function volumesFrom(core: EngineCore, specs: string[], own: Array<{ target: string }>): VolumeEntry[] {
  const out: VolumeEntry[] = [];
  const taken = new Set(own.map((v) => v.target.replace(/\/+$/, '')));
  for (const spec of specs) {
    const m = /^(.+?)(?::(ro|rw))?$/.exec(spec);
    if (!m) throw expected('`--volumes-from`', 'CONTAINER or CONTAINER:ro or CONTAINER:rw', spec);
    for (const v of core.find(m[1]).config.volumes) {
      if (taken.has(v.target)) continue;
      taken.add(v.target);
      out.push({ ...v, anonymous: undefined, readOnly: m[2] ? m[2] === 'ro' : v.readOnly });
    }
  }
  return out.map((v) => Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined)) as VolumeEntry);
}

/**
 * Make the container's volumes that do not exist yet, fill each empty one from the image (copy-up), and
 * at strict hand a root-owned data directory to the container's mapped root (host id idBase). Returns the names it made.
 */
export async function prepareVolumes(core: EngineCore, config: ResolvedConfig, image: ContainerImage, idBase: number): Promise<string[]> {
  const volumes = new EngineVolumes(core);
  const table = new VolumeTable(core.store);
  const made: string[] = [];
  const offset = config.isolation === 'strict' ? idBase : 0;
  for (const v of config.volumes) {
    if (!v.name) continue;
    if (!table.get(v.name)) made.push(v.name);
    volumes.create(v.name, { anonymous: v.anonymous });
    if (v.tmpfs || v.source !== volumePaths(core.settings.storageDir, v.name).data) continue; // a tmpfs or a bound host path
    const layers = image.kind === 'oci' ? image.layers ?? [] : image.kind === 'rootfs' && image.rootfs ? [image.rootfs] : [];
    if (!v.noCopy && layers.length && readdirSync(v.source).length === 0)
      await copyUp(layers, v.target, v.source, offset).catch((e: NodeJS.ErrnoException) => {
        // the volume was empty: a copy cut short must not pass for a filled one at the next use
        for (const f of readdirSync(v.source)) rmSync(join(v.source, f), { recursive: true, force: true });
        // rootless: the image's files at the mount point belong to ids of the user's range, which it cannot give
        if (!['EPERM', 'EACCES'].includes(e.code ?? '') || !rootlessHost()) throw e;
        throw new EngineError('HOST_UNSUPPORTED', `Cannot fill the volume ${v.name} from the image's ${v.target}: its files belong to ids other than the container's root, which codex32 run rootless can neither read nor give to a volume's copies. Mount it with \`--mount type=volume,source=${v.name},target=${v.target},volume-nocopy\`, or run codex32 as root.`, { cause: e });
      });
    if (offset && statSync(v.source).uid === 0) chownSync(v.source, offset, offset);
  }
  return made;
}
