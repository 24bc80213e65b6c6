// What containers and images hold on disk: diff (a container's changes to its image), system df and
// system prune.
import { lstat, readdir } from '../lazy.js';
import { existsSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { EngineError } from '../errors.js';
import { imageFor } from '../images/store.js';
import type { ContainerRow } from '../state/types.js';
import type { EngineCore } from './core.js';
import type { EngineImages } from './images.js';
import type { EngineNetworks } from './netapi.js';
import { pruneFilter, type PruneFilters } from './prunefilter.js';
import { pruneContainers } from './removal.js';
import { isActive } from './status.js';

/** One change as docker reports it: Kind 0 changed, 1 added, 2 deleted. */
export interface Change {
  Path: string;
  Kind: 0 | 1 | 2;
}

/** Mount points and files codex32 provides in every container: never a change of the container's own (docker's init layer). */
const RUNTIME_PATHS = new Set(['/etc/hosts', '/etc/resolv.conf', '/etc/hostname', '/proc', '/sys', '/dev']);
/** Directories codex32 makes in the upper dir where the image has none: listed only for what changed in them. */
const MADE_DIRS = new Set(['/tmp', '/app', '/etc']);

/** The directories a container's upper dir is laid over, bottom first; refused for a container without its own layer. */
function lowerDirs(core: EngineCore, row: ContainerRow): string[] {
  const image = imageFor(core.store, row.config);
  if (image.kind === 'oci') return image.layers ?? [];
  if (image.kind === 'rootfs' && image.rootfs) return [image.rootfs];
  throw new EngineError('INVALID_CONFIG', `Container ${row.name} runs on ${image.kind === 'host' ? "the host's filesystem" : `the directory image ${row.config.image}`}, not on an image of layers: it has no changes to list. diff works on containers of OCI and imported images.`, {
    context: { container: row.name },
  });
}

/**
 * The container's changes to its image (docker diff): every entry of its overlay upper dir is added
 * (A) unless a lower layer has it (C), and a whiteout (a 0/0 character device) is a deletion (D).
 */
export async function containerChanges(core: EngineCore, ref: string): Promise<Change[]> {
  const row = core.get(ref);
  const lowers = lowerDirs(core, row);
  const upper = core.paths(row.id).upper;
  const out: Change[] = [];
  if (!existsSync(upper)) return out; // never started: nothing written yet
  const inLower = (p: string) => lowers.some((l) => lstatSync(join(l, p), { throwIfNoEntry: false }) !== undefined);
  // a directory the image has is listed as changed only when something under it changed
  const walk = async (rel: string): Promise<Change[]> => {
    const found: Change[] = [];
    for (const name of (await readdir(join(upper, rel))).sort()) {
      const p = `${rel}/${name}`;
      if (RUNTIME_PATHS.has(p)) continue;
      const st = await lstat(join(upper, p));
      if (st.isCharacterDevice() && st.rdev === 0) found.push({ Path: p, Kind: 2 });
      else if (!st.isDirectory()) found.push({ Path: p, Kind: inLower(p) ? 0 : 1 });
      else {
        const inside = await walk(p);
        const had = inLower(p) || MADE_DIRS.has(p);
        if (!had || inside.length) found.push({ Path: p, Kind: had ? 0 : 1 });
        found.push(...inside);
      }
    }
    return found;
  };
  out.push(...(await walk('')));
  return out;
}

/** Bytes under a directory (files counted once per inode), 0 when it is missing. */
async function duBytes(dir: string): Promise<number> {
  const seen = new Set<number>();
  let total = 0;
  const walk = async (p: string) => {
    const st = await lstat(p).catch(() => undefined);
    if (!st) return;
    if (st.isDirectory()) for (const n of await readdir(p).catch(() => [] as string[])) await walk(join(p, n));
    else if (!seen.has(st.ino)) {
      seen.add(st.ino);
      total += st.size;
    }
  };
  await walk(dir);
  return total;
}

/** system df: images, containers and their writable layers, with what a prune could give back. */
export interface DiskUsage {
  images: Array<{ id: string; tags: string[]; size: number; createdAt: number; containers: number }>;
  containers: Array<{ id: string; name: string; image: string; status: string; size: number; createdAt: number }>;
  totals: {
    images: { count: number; active: number; size: number; reclaimable: number };
    containers: { count: number; active: number; size: number; reclaimable: number };
  };
}

/** Measure what images and containers take (each container's writable layer: its upper dir, or /app). */
export async function diskUsage(core: EngineCore, images: EngineImages, rows: ContainerRow[]): Promise<DiskUsage> {
  const imgs = images.usage().map((i) => ({ id: i.id, tags: i.tags, size: i.size, createdAt: i.createdAt, containers: i.containers.length }));
  // imported root filesystems are images too: named, with no digest
  for (const r of core.store.listImages())
    if (r.kind === 'rootfs') imgs.push({ id: r.name, tags: [r.name], size: r.doc.size ?? 0, createdAt: r.createdAt, containers: rows.filter((c) => c.config.image === r.name).length });
  const containers = [];
  for (const r of rows) {
    const p = core.paths(r.id);
    const size = (await duBytes(p.upper)) + (existsSync(p.upper) ? 0 : await duBytes(p.app));
    containers.push({ id: r.id, name: r.name, image: r.config.image, status: r.status, size, createdAt: r.createdAt });
  }
  const sum = (xs: Array<{ size: number }>) => xs.reduce((n, x) => n + x.size, 0);
  const activeImgs = imgs.filter((i) => i.containers > 0);
  const stopped = containers.filter((c) => !isActive(c.status as ContainerRow['status']));
  return {
    images: imgs,
    containers,
    totals: {
      images: { count: imgs.length, active: activeImgs.length, size: sum(imgs), reclaimable: sum(imgs) - sum(activeImgs) },
      containers: { count: containers.length, active: containers.length - stopped.length, size: sum(containers), reclaimable: sum(stopped) },
    },
  };
}

/** container prune with docker's filters (until, label, label!): the names removed and the bytes their layers held. */
export async function pruneContainersWith(core: EngineCore, filters?: PruneFilters): Promise<{ containers: string[]; ids: string[]; reclaimed: number }> {
  const keep = pruneFilter(filters);
  const spare = (r: ContainerRow) => keep({ createdAt: r.createdAt, labels: r.config.labels });
  const sizes = new Map<string, number>();
  const ids = new Map(core.store.listContainers().map((r) => [r.name, r.id]));
  for (const r of core.store.listContainers()) if (!isActive(r.status) && spare(r)) sizes.set(r.name, (await duBytes(core.paths(r.id).upper)) + (await duBytes(core.paths(r.id).app)));
  const containers = await pruneContainers(core, spare);
  return { containers, ids: containers.map((c) => ids.get(c) ?? c), reclaimed: containers.reduce((n, c) => n + (sizes.get(c) ?? 0), 0) };
}

/** What system prune removed. */
export interface SystemPruneResult {
  containers: string[];
  networks: string[];
  images: string[];
  reclaimed: number;
}

/** system prune: stopped containers, unused user networks, then dangling images (every unused one with all). */
export async function systemPrune(core: EngineCore, images: EngineImages, networks: EngineNetworks, options: { all?: boolean; filters?: PruneFilters } = {}): Promise<SystemPruneResult> {
  const { containers, reclaimed: fromContainers } = await pruneContainersWith(core, options.filters);
  const nets = await networks.prune(options.filters);
  const img = images.pruneWith({ all: options.all, filters: options.filters });
  const reclaimed = img.reclaimed + fromContainers;
  return { containers, networks: nets, images: img.deleted, reclaimed };
}
