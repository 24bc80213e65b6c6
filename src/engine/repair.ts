// system repair: keep a damaged database aside and rebuild it from the container directories and the image store.
import { chmodSync, existsSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { EngineError } from '../errors.js';
import { imageDir } from '../images/store.js';
import { killCgroups, removeCgroups } from '../runtime/cgroups.js';
import { specValues } from '../runtime/contract.js';
import { containerPaths } from '../runtime/layout.js';
import { teardownNetwork } from '../runtime/network.js';
import { unmountQuota } from '../runtime/quota.js';
import { isAlive, signalRef } from '../runtime/proc.js';
import { findShim, readExits, readShimEvents, readShimState, requestStop } from '../runtime/supervisor.js';
import { restoreSalvage, salvage, setAside } from '../state/salvage.js';
import { adoptIdRange } from '../state/idranges.js';
import { StateStore } from '../state/store.js';
import type { ContainerRow, ContainerState, ImageRow } from '../state/types.js';
import { checkState } from './check.js';
import { cgroupsFromSpec, containerDirs, findOnDisk, fromEarlierBoot, readMeta, readSpec } from './ondisk.js';
import { bootId, killOrphans, reconcileRow } from './reconcile.js';

/** What `codex32 system repair` did. */
export interface RepairReport {
  repaired: boolean;
  /** where the damaged database was kept */
  aside?: string;
  containers: Array<{ id: string; name: string; status: string }>;
  /** container directories that could not be adopted, and why (left untouched) */
  skipped: Array<{ id: string; reason: string }>;
  images: number;
  bots: number;
  events: number;
  /** tables of the old database that could not be read back */
  lost: string[];
}

/**
 * Rebuild storageDir/state.db from disk. The new database is built beside the old one and renamed
 * into place, so a repair cut short leaves the old file where it was. A healthy database is left
 * alone unless force is set.
 */
export function repairState(storageDir: string, options: { force?: boolean } = {}): RepairReport {
  const path = join(storageDir, 'state.db');
  const report: RepairReport = { repaired: false, containers: [], skipped: [], images: 0, bots: 0, events: 0, lost: [] };
  if (checkState(storageDir).healthy && !options.force) return report;
  const old = salvage(path);
  const tmp = `${path}.rebuild-${process.pid}`;
  for (const s of ['', '-wal', '-shm']) rmSync(tmp + s, { force: true });
  const store = StateStore.open(tmp);
  try {
    report.images = restoreImages(store, storageDir, old.images);
    for (const id of containerDirs(storageDir)) {
      const adopted = adopt(store, storageDir, id);
      if ('reason' in adopted) report.skipped.push({ id, reason: adopted.reason });
      else report.containers.push({ id, name: adopted.name, status: adopted.status });
    }
    restoreSalvage(store, old);
  } catch (e) {
    store.close();
    for (const s of ['', '-wal', '-shm']) rmSync(tmp + s, { force: true });
    throw e;
  }
  store.close(); // checkpoints: the rebuilt database is one file
  report.aside = setAside(path);
  renameSync(tmp, path);
  chmodSync(path, 0o600);
  return { ...report, repaired: true, bots: old.bots.length, events: old.events.length, lost: old.lost };
}

/**
 * Open the storage directory's database for the engine. A missing database while container directories
 * exist means it was lost: creating an empty one would hide running containers, so refuse and point at repair.
 */
export function openState(storageDir: string): StateStore {
  const path = join(storageDir, 'state.db');
  const dirs = existsSync(path) ? [] : containerDirs(storageDir);
  if (dirs.length)
    throw new EngineError(
      'STATE_CORRUPT',
      `The state database ${path} is missing, but ${dirs.length} container ${dirs.length === 1 ? 'directory remains' : 'directories remain'} under ${storageDir}/containers. ` +
        'Run `codex32 system repair` to rebuild the database from them (running containers are adopted again); see docs/state.md.',
      { context: { path } },
    );
  return StateStore.open(path);
}

/** Images: the rows that could be read back, else a row for each rootfs in the image store. */
function restoreImages(store: StateStore, storageDir: string, salvaged: ImageRow[]): number {
  const byName = new Map(salvaged.map((i) => [i.name, i]));
  let dirs: string[] = [];
  try {
    dirs = readdirSync(join(storageDir, 'images')).filter((n) => existsSync(imageDir(storageDir, n)));
  } catch {
    /* no image store yet */
  }
  store.tx(() => {
    for (const name of dirs) {
      const path = imageDir(storageDir, name);
      store.insertImage(byName.get(name) ?? { name, kind: 'rootfs', createdAt: statSync(path).mtimeMs, doc: { path } });
    }
  });
  return dirs.length;
}

/**
 * One container directory becomes a row again: its config from config.json, its exits from the
 * supervisor's records, and a running supervisor adopted with its pid and start time. The normal
 * reconcile then derives the status exactly as it would for any row.
 */
function adopt(store: StateStore, storageDir: string, id: string): ContainerRow | { reason: string } {
  const paths = containerPaths(storageDir, id);
  const meta = readMeta(paths.dir, id);
  if ('error' in meta) return { reason: meta.error };
  const spec = readSpec(paths.spec);
  const state: ContainerState = { restartCount: 0, runBase: 0, restartBase: 0 };
  let row: ContainerRow = { id, name: meta.name, status: 'created', createdAt: meta.createdAt, config: meta.config, state };
  if (spec) {
    const shim = findShim(paths.dir);
    const recorded = readShimState(paths.dir);
    const last = readExits(paths.dir).at(-1);
    Object.assign(state, {
      shim, init: recorded?.init, startedAt: recorded?.runStartedAt || undefined, cgroups: cgroupsFromSpec(spec),
      runBase: Number(spec.get('run_base')?.[0] ?? 0), shimEvents: readShimEvents(paths.dir).length,
      bootId: fromEarlierBoot(paths.state) ? 'an-earlier-boot' : bootId(),
      userStopped: !isAlive(shim) && (last?.reason === 'stopped' || last?.reason === 'killed'),
    });
    row = { ...row, status: 'running' }; // provisional: reconcile below sets the true status
  }
  try {
    return store.tx(() => {
      store.insertContainer(row);
      if (row.config.isolation === 'strict') keepIdRange(store, id, meta.idBase, spec);
      const next = spec ? reconcileRow(store, row, paths.dir).row : row;
      store.insertEvent({ time: Date.now(), type: 'repair', containerId: id, name: row.name, attrs: { status: next.status } });
      return next;
    });
  } catch (e) {
    if (e instanceof EngineError && e.code === 'NAME_IN_USE') return { reason: `its name ${row.name} is taken by another container directory` };
    throw e;
  }
}

/**
 * A strict container keeps the host uid range it held: the one its config.json records, else the one
 * its last spec mapped. A range another container took first is left to it; this one gets a new range
 * at its next start (its files are given to that range then).
 */
function keepIdRange(store: StateStore, id: string, recorded: number | undefined, spec: Map<string, string[]> | undefined): void {
  const mapped = spec?.get('uid_map')?.[0]?.split(' ')[1];
  const base = recorded ?? (mapped !== undefined ? Number(mapped) : undefined);
  if (base !== undefined) adoptIdRange(store, id, base);
}

/**
 * Remove a container using only its directory (the database is damaged): ask its supervisor to stop
 * it, SIGKILL what remains by pid and start time and through its cgroups, then delete the directory.
 * Nothing is signalled that cannot be identified exactly. Returns the container's name.
 */
export async function removeFromDisk(storageDir: string, ref: string): Promise<string> {
  const found = findOnDisk(storageDir, ref);
  if (!found)
    throw new EngineError('NO_SUCH_CONTAINER', `No container directory matches ${ref} (the database is damaged, so only ids and names recorded on disk can be used).`, { context: { container: ref } });
  const paths = containerPaths(storageDir, found.id);
  if (isAlive(found.shim)) {
    requestStop(paths.dir, found.shim, { signal: 9, graceMs: 0, reason: 'stopped', scope: 'group' });
    for (let i = 0; i < 200 && isAlive(found.shim); i++) await new Promise((r) => setTimeout(r, 25));
    signalRef(found.shim, 'SIGKILL');
  }
  const cgroups = found.spec && cgroupsFromSpec(found.spec);
  const isolation = found.meta?.config.isolation ?? ((found.spec && specValues(found.spec, 'isolation_level')[0]) === '0' ? 'minimal' : 'standard');
  killOrphans({ config: { isolation }, state: { init: found.init } } as ContainerRow, cgroups);
  await killCgroups(cgroups);
  removeCgroups(cgroups);
  await teardownNetwork(found.id); // its namespace, interfaces, port rules and address, if it had a private network
  await unmountQuota(paths.dir);
  rmSync(paths.dir, { recursive: true, force: true });
  return found.meta?.name ?? found.id.slice(0, 12);
}
