// What a container directory says about its container, read without the database: the source of truth repair uses.
import { existsSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CgroupSet } from '../runtime/cgroups.js';
import { decodeSpec, specValues } from '../runtime/contract.js';
import { containerPaths } from '../runtime/layout.js';
import { probeHost } from '../runtime/probe.js';
import { findShim, readShimState } from '../runtime/supervisor.js';
import type { ContainerRow, ProcRef } from '../state/types.js';

/** The file beside the spec that holds the container's resolved configuration, written once at create. */
export const CONFIG_FILE = 'config.json';

/** What create records in the container directory so the database can be rebuilt from disk. */
export interface ContainerMeta {
  id: string;
  name: string;
  createdAt: number;
  config: ContainerRow['config'];
  /** a strict container's host uid range (its first id), so that repair gives it back the same one */
  idBase?: number;
}

/** Write the container's metadata atomically (a reader sees all of it or none). */
export function writeMeta(dir: string, row: ContainerRow, idBase?: number): void {
  const meta: ContainerMeta = { id: row.id, name: row.name, createdAt: row.createdAt, config: row.config, ...(idBase !== undefined ? { idBase } : {}) };
  const path = join(dir, CONFIG_FILE);
  writeFileSync(path + '.tmp', JSON.stringify(meta), { mode: 0o600 });
  renameSync(path + '.tmp', path);
}

/** The metadata of the container in dir, or why it cannot be read. */
export function readMeta(dir: string, id: string): ContainerMeta | { error: string } {
  let meta: ContainerMeta;
  try {
    meta = JSON.parse(readFileSync(join(dir, CONFIG_FILE), 'utf8')) as ContainerMeta;
  } catch (e) {
    const gone = (e as { code?: string }).code === 'ENOENT';
    return { error: gone ? `no ${CONFIG_FILE} (created by an older codex32, or a create cut short)` : `${CONFIG_FILE} does not parse` };
  }
  if (meta.id !== id || typeof meta.name !== 'string' || !meta.config) return { error: `${CONFIG_FILE} names another container` };
  return meta;
}

/** The ids of every container directory under the storage directory. */
export function containerDirs(storageDir: string): string[] {
  try {
    return readdirSync(join(storageDir, 'containers')).filter((d) => /^[0-9a-f]{64}$/.test(d));
  } catch {
    return [];
  }
}

/** The spec the engine last wrote for the supervisor (key to values), or undefined before the first start. */
export function readSpec(specPath: string): Map<string, string[]> | undefined {
  let raw: string;
  try {
    raw = readFileSync(specPath, 'utf8');
  } catch {
    return undefined;
  }
  return decodeSpec(raw);
}

/** The cgroups a spec placed the container in, in the shape the engine keeps. */
export function cgroupsFromSpec(spec: Map<string, string[]>): CgroupSet | undefined {
  const dirs = specValues(spec, 'cgroup');
  if (!dirs.length) return undefined;
  const cg = probeHost().cgroup;
  const v2 = cg.version === 'v2';
  const oomEvents = specValues(spec, 'oom_events')[0];
  const memoryDir = v2 ? dirs[0] : oomEvents ? oomEvents.slice(0, oomEvents.lastIndexOf('/')) : undefined;
  // the CPU accounting create set up, so stats read the cgroup rather than fall back to each process
  const cpuUsage = v2 ? `${dirs[0]}/cpu.stat` : dirs.map((d) => `${d}/cpuacct.usage`).find((f) => existsSync(f));
  return { dirs, oomEvents, memoryDir, cpuUsage, version: v2 ? 'v2' : 'v1', controllers: Object.keys(cg.controllers) };
}

/** True when the supervisor's state file was written before this boot: it died with the host. */
export function fromEarlierBoot(stateFile: string): boolean {
  try {
    const btime = Number(/^btime (\d+)/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1] ?? 0);
    return statSync(stateFile).mtimeMs < btime * 1000;
  } catch {
    return false;
  }
}

/** A container found on disk: its metadata, spec, and the live supervisor and init, if any. */
export interface OnDisk {
  id: string;
  dir: string;
  meta?: ContainerMeta;
  spec?: Map<string, string[]>;
  shim?: ProcRef;
  init?: ProcRef;
}

/** Find one container on disk by id, unique id prefix or name; undefined when none matches. */
export function findOnDisk(storageDir: string, ref: string): OnDisk | undefined {
  const matches: OnDisk[] = [];
  for (const id of containerDirs(storageDir)) {
    const dir = containerPaths(storageDir, id).dir;
    const meta = readMeta(dir, id);
    const known = 'error' in meta ? undefined : meta;
    if (id === ref || known?.name === ref || (/^[0-9a-f]{3,63}$/.test(ref) && id.startsWith(ref))) matches.push({ id, dir, meta: known });
  }
  if (matches.length !== 1) return undefined;
  const found = matches[0];
  const paths = containerPaths(storageDir, found.id);
  return { ...found, spec: readSpec(paths.spec), shim: existsSync(paths.spec) ? findShim(paths.dir) : undefined, init: readShimState(paths.dir)?.init };
}
