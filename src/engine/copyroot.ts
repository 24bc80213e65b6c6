// The run directory the copy helpers assemble a container's root from. A container that has run has
// its spec there; one created and never started has none, so cp, writeFiles and readFiles get a spec of
// their own, built as start builds it (docker's `create`, `cp`, `start` habit), in a directory removed after.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from '../lazy.js';
import { join, posix } from 'node:path';
import { prepareImageRoot } from '../images/rootfs.js';
import { imageFor } from '../images/store.js';
import { RUN_FILES, decodeSpec, specValues } from '../runtime/contract.js';
import { buildPlan, encodeSpec } from '../runtime/plan.js';
import { mountQuota } from '../runtime/quota.js';
import { EngineError } from '../errors.js';
import { rootlessHost } from '../runtime/rootless.js';
import type { ContainerRow } from '../state/types.js';
import type { EngineCore } from './core.js';
import { isActive } from './status.js';

/**
 * The container ref, its files reachable. Rootless, a stopped container's root can only be assembled in a mount namespace the user cannot
 * make outside a user namespace of its own: refused until it runs (a running one is joined).
 */
export function reachable(core: EngineCore, ref: string): ContainerRow {
  const row = core.get(ref);
  if (rootlessHost() && row.config.isolation !== 'minimal' && !isActive(row.status))
    throw new EngineError('HOST_UNSUPPORTED', `Cannot reach the files of container ${row.name}: it is not running, and codex32 runs rootless, which can only enter a running container. Start it first, or run codex32 as root.`, { context: { container: row.name } });
  return row;
}

export interface CopyRoot {
  /** the run directory to hand the copy helper */
  dir: string;
  /** remove what was made for this copy alone; call once the helper has ended */
  done: () => Promise<void>;
}

/** The run directory for a copy into or out of row: its own once started, else one made for this copy. */
export async function copyRoot(core: EngineCore, row: ContainerRow): Promise<CopyRoot> {
  const paths = core.paths(row.id);
  if (existsSync(paths.spec)) return { dir: paths.dir, done: async () => undefined };
  const image = imageFor(core.store, row.config);
  // the directories start makes: what is copied into the writable layer now is there at the first start
  if (row.config.isolation !== 'minimal') {
    await mkdir(paths.newroot, { recursive: true });
    if (image.kind === 'rootfs' || image.kind === 'oci') {
      await mkdir(paths.upper, { recursive: true });
      await mkdir(paths.work, { recursive: true });
    }
  }
  if (image.kind === 'oci') image.layers = await prepareImageRoot(core.settings.storageDir, image.layers ?? [], paths.upper, 0);
  if (row.config.storageSize) await mountQuota(paths.dir);
  // The helper joins no network, so the root is planned without one. Strict's uid range is given at its
  // first start, which then hands the writable layer and /app to it: until then what is copied in
  // belongs to host root, as the root assembled here at standard sees it.
  const isolation = row.config.isolation === 'strict' ? 'standard' : row.config.isolation;
  const config = { ...row.config, isolation, network: 'none' as const, networks: [], links: [], publish: [] };
  const plan = await buildPlan({ ...row, config }, image, paths, undefined);
  // the container's own hosts and resolv.conf are written by its network's start: a copy has no need of them
  const own = `bind=${paths.etc}/`;
  plan.entries = plan.entries.filter((e) => !e.startsWith(own));
  const dir = await mkdtemp(join(paths.dir, '.copy-'));
  try {
    await writeFile(join(dir, RUN_FILES.spec), encodeSpec(plan), { mode: 0o600 });
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  return { dir, done: () => rm(dir, { recursive: true, force: true }) };
}

/** Run fn with the copy run directory for row, removing what was made for it afterwards. */
export async function withCopyRoot<T>(core: EngineCore, row: ContainerRow, fn: (dir: string) => Promise<T>): Promise<T> {
  const root = await copyRoot(core, row);
  try {
    return await fn(root.dir);
  } finally {
    await root.done();
  }
}

/**
 * The mounts of the root the copy run directory dir assembles, each with whether it is made afresh at each
 * start (a tmpfs such as /tmp, the tmpfs root of the `host` image, /proc) or keeps what is written (the
 * writable layer, the app, a volume, a bind). None at minimal: the host's own files.
 */
async function rootMounts(dir: string): Promise<Array<{ at: string; fresh: boolean }>> {
  let raw: string;
  try {
    raw = await readFile(join(dir, RUN_FILES.spec), 'utf8');
  } catch {
    return [];
  }
  const spec = decodeSpec(raw);
  const mounts: Array<{ at: string; fresh: boolean }> = [];
  const root = specValues(spec, 'root')[0];
  if (root) mounts.push({ at: '/', fresh: root === 'tmpfs' });
  for (const b of specValues(spec, 'bind')) mounts.push({ at: b.split('\t')[1]!, fresh: false });
  for (const t of specValues(spec, 'tmpfs')) mounts.push({ at: t.split('\t')[0]!, fresh: true });
  for (const k of ['proc', 'sysfs', 'devpts', 'mqueue'] as const) for (const at of specValues(spec, k)) mounts.push({ at, fresh: true });
  return mounts.map((m) => ({ ...m, at: posix.normalize(m.at) }));
}

/** The mount point when path lies in a fresh mount: the deepest mount covering it, the later of two at one place. */
function freshMountOf(mounts: Array<{ at: string; fresh: boolean }>, path: string): string | undefined {
  const p = posix.normalize(path);
  let best: { at: string; fresh: boolean } | undefined;
  for (const m of mounts) {
    const under = m.at === '/' || p === m.at || p.startsWith(`${m.at}/`);
    if (under && (!best || m.at.length >= best.at.length)) best = m;
  }
  return best?.fresh ? best.at : undefined;
}

/** Refuse a copy into paths of a container that is not running when its start would wipe one of them. */
export async function refuseLostCopy(row: ContainerRow, dir: string, paths: string[]): Promise<void> {
  if (isActive(row.status)) return; // its mounts are live: the copy lands in them
  const mounts = await rootMounts(dir);
  const path = paths.find((p) => freshMountOf(mounts, p) !== undefined);
  if (path === undefined) return;
  const at = freshMountOf(mounts, path)!;
  throw new EngineError(
    'INVALID_STATE',
    `Cannot copy into ${path} of container ${row.name}: it is not running, and ${at} is mounted afresh at each start (${at === '/' ? 'the root of its image is a tmpfs' : 'a tmpfs'}), so the copy would be gone when it starts. Start the container first, or copy into /app or a volume.`,
    { context: { container: row.name, path } },
  );
}
