// Removal: a container, its cgroups and its files; prune of stopped containers and interrupted creates.
import { readdirSync, statSync } from 'node:fs';
import { rm } from '../lazy.js';
import { join } from 'node:path';
import { killCgroups, removeCgroups } from '../runtime/cgroups.js';
import { pollFor } from '../runtime/poll.js';
import { unmountQuota } from '../runtime/quota.js';
import { isAlive, selfRef } from '../runtime/proc.js';
import { findShim } from '../runtime/supervisor.js';
import { EngineError, isEngineError } from '../errors.js';
import type { StateStore } from '../state/store.js';
import { EngineVolumes } from '../volumes/service.js';
import type { ContainerRow } from '../state/types.js';
import { recordEvent, type EngineCore } from './core.js';
import { stopContainer } from './lifecycle.js';
import { stopNetwork } from './network.js';
import { listContainers } from './policy.js';
import { killOrphans } from './reconcile.js';
import { canRemove, invalidState } from './status.js';
import { removeOwnedTree } from '../runtime/userns-run.js';

/** Remove a container and everything it has on disk; force stops it first; volumes: its anonymous volumes too (docker's rm -v). */
export async function removeContainer(core: EngineCore, ref: string, options: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
  let row = core.get(ref);
  // another process is removing it now (an rm -f beside a --rm container's own removal): that one
  // finishes the job, and this call returns once it is done, so a name is free when rm returns
  if (row.status === 'removing' && isAlive(row.state.owner)) {
    if (row.state.owner?.pid === process.pid) {
      // ours: one under way is awaited; one that failed earlier (no longer in flight) is done again
      const mine = inFlight.get(row.id);
      if (mine) return mine;
    } else if (await removedBy(core, row)) return;
    const now = core.store.getContainer(row.id); // its remover died or failed midway: finish the job here
    if (!now) return;
    row = now;
  }
  if (!canRemove(row.status)) {
    if (!options.force) throw invalidState(row.name, row.status, 'remove', 'Stop it first, or use `rm -f`.');
    try {
      await stopContainer(core, row.id, { timeout: 0 });
    } catch (e) {
      if (!isEngineError(e, 'NO_SUCH_CONTAINER')) throw e;
    }
    // an auto-remove container's own removal may have finished it as it stopped: then there is nothing left to do
    const now = core.store.getContainer(row.id);
    if (!now) return;
    row = now;
  }
  // claimed only if nobody started it since we looked (a start under way must not see its files go),
  // and nobody else claimed it meanwhile (an auto-removal finished by two engine calls at once)
  const claim = core.store.tx(() => {
    const cur = core.store.getContainer(row.id);
    if (!cur) return 'gone';
    if (!canRemove(cur.status)) return 'started';
    if (cur.status === 'removing' && cur.state.owner && cur.state.owner.pid !== process.pid && isAlive(cur.state.owner)) return 'other';
    core.store.updateContainer(cur.id, 'removing', { ...cur.state, owner: selfRef() });
    return 'ours';
  });
  if (claim === 'gone') return;
  if (claim === 'other') {
    if (await removedBy(core, row)) return;
    return removeContainer(core, row.id, options);
  }
  if (claim === 'started') {
    if (!options.force) throw invalidState(row.name, 'starting', 'remove', 'Stop it first, or use `rm -f`.');
    return removeContainer(core, row.id, options); // stopped once that start has settled
  }
  const work = (async () => {
    killOrphans(row, row.state.cgroups);
    await killCgroups(row.state.cgroups);
    removeCgroups(row.state.cgroups);
    await stopNetwork(core, row);
    await unmountQuota(core.paths(row.id).dir);
    await rm(core.paths(row.id).dir, { recursive: true, force: true }).catch(() => removeOwnedTree(core.settings.storageDir, core.paths(row.id).dir)); // async: a big app would block the event loop for long; rootless, the container's other ids' files are removed as its root
    core.store.tx(() => {
      core.store.deleteContainer(row.id);
      recordEvent(core.store, 'remove', row);
    });
  })();
  inFlight.set(row.id, work);
  try {
    await work;
  } finally {
    inFlight.delete(row.id);
  }
  if (options.volumes) await removeAnonymousVolumes(core, row);
}

/** Remove the anonymous volumes a removed container had, unless another container mounts one (--volumes-from). */
async function removeAnonymousVolumes(core: EngineCore, row: ContainerRow): Promise<void> {
  const volumes = new EngineVolumes(core);
  for (const v of row.config.volumes) {
    if (!v.name || !v.anonymous) continue;
    await volumes.remove(v.name, { force: true }).catch((e) => {
      if (!isEngineError(e, 'VOLUME_IN_USE')) throw e;
    });
  }
}

/** Keep an auto-remove container past its next end (a restart's stop), or let it be removed again. */
export function holdRemoval(store: StateStore, id: string, hold: boolean): void {
  store.tx(() => {
    const cur = store.getContainer(id);
    if (cur) store.updateContainer(id, cur.status, { ...cur.state, holdRemoval: hold || undefined });
  });
}

/** This process's removals under way, by container id: a second remove of one awaits it. */
const inFlight = new Map<string, Promise<void>>();

/** Wait for another live process's removal of row; false when that process died before finishing. */
async function removedBy(core: EngineCore, row: ContainerRow, timeoutMs = 60_000): Promise<boolean> {
  const gone = await pollFor(() => {
    const cur = core.store.getContainer(row.id);
    if (!cur) return true;
    return cur.status !== 'removing' || !isAlive(cur.state.owner) ? false : undefined;
  }, timeoutMs);
  if (gone !== undefined) return gone;
  throw new EngineError('TIMEOUT', `Container ${row.name} is still being removed by process ${core.store.getContainer(row.id)?.state.owner?.pid} after ${timeoutMs / 1000} s. Try again later.`, { context: { container: row.name } });
}

/** Remove stopped containers (those keep allows), and leftovers of interrupted creates; returns the names removed. */
export async function pruneContainers(core: EngineCore, keep: (row: ContainerRow) => boolean = () => true): Promise<string[]> {
  const removed: string[] = [];
  for (const row of await listContainers(core, { all: true })) {
    if (!keep(row)) continue;
    if (row.status === 'exited' || row.status === 'dead' || row.status === 'created' || (row.status === 'removing' && !isAlive(row.state.owner))) {
      await removeContainer(core, row.id, { force: true }).catch(() => undefined);
      removed.push(row.name);
    }
  }
  const known = new Set(core.store.listContainers().map((r) => r.id));
  const dir = join(core.settings.storageDir, 'containers');
  for (const d of readdirSync(dir)) {
    // a directory with no row is what a create killed midway leaves; give in-flight creates a minute
    // one whose supervisor still runs lost its row with the database: `system repair` adopts it, prune must not delete it
    if (!known.has(d) && Date.now() - statSync(join(dir, d)).mtimeMs > 60_000 && !findShim(join(dir, d))) {
      await unmountQuota(join(dir, d)).catch(() => undefined); // a create cut short after its quota was mounted
      await rm(join(dir, d), { recursive: true, force: true });
    }
  }
  return removed;
}
