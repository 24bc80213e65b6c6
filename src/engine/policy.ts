// Listing and the restart policy: reconciled rows, containers whose lost supervisor must be replaced, boot-time starts.
import { isEngineError } from '../errors.js';
import type { ContainerRow } from '../state/types.js';
import { recordEvent, type EngineCore } from './core.js';
import { isActive, removalDue } from './status.js';

/** All containers (reconciled, lost supervisors repaired per policy); only active ones unless all. */
export async function listContainers(core: EngineCore, options: { all?: boolean } = {}): Promise<ContainerRow[]> {
  const rows = core.store.listContainers(options.all ? undefined : ['starting', 'running', 'restarting', 'stopping']);
  const out: ContainerRow[] = [];
  for (const r of rows) {
    let row: ContainerRow;
    try {
      row = isActive(r.status) ? await reviveLost(core, core.reconcile(r)) : r;
    } catch (e) {
      // removed by another process since the rows were read: docker lists it no more, and fails nothing
      if (isEngineError(e, 'NO_SUCH_CONTAINER')) continue;
      throw e;
    }
    // an auto-remove container that has ended is removed before anyone sees it listed
    if (removalDue(row) && (await core.finishRemoval(row)) && !core.store.getContainer(row.id)) continue;
    out.push(row);
  }
  return options.all ? out : out.filter((r) => isActive(r.status));
}

/**
 * True when the restart policy asks for this stopped container to run again. The user's stop stands
 * whatever the policy, and so does the supervisor's own decision (an on-failure container that used up
 * its retries, max_restarts reached): only a container whose supervisor was lost is started again.
 */
export function wantsRestart(row: ContainerRow): boolean {
  const p = row.config.restart;
  if (row.state.userStopped) return false;
  if (row.state.reason !== 'host-restart' && row.state.reason !== 'supervisor-lost') return false;
  if (p.name === 'always' || p.name === 'unless-stopped') return true;
  if (p.name === 'on-failure') return (row.state.exitCode ?? 0) !== 0 && (p.maxRetries === 0 || row.state.restartCount < p.maxRetries);
  return false;
}

/**
 * A container whose supervisor was killed (same boot) is started again when its policy says so:
 * the supervisor would have restarted it, so the next engine call does.
 */
export async function reviveLost(core: EngineCore, row: ContainerRow): Promise<ContainerRow> {
  if (row.status !== 'dead' || row.state.reason !== 'supervisor-lost' || !wantsRestart(row)) return row;
  try {
    await core.start(row.id);
    core.store.tx(() => {
      const cur = core.store.getContainer(row.id)!;
      core.store.updateContainer(cur.id, cur.status, { ...cur.state, restartCount: cur.state.restartCount + 1, restartBase: cur.state.restartBase + 1 });
      recordEvent(core.store, 'restart', cur, { reason: 'supervisor-lost' });
    });
  } catch {
    /* another process repaired it first, or it cannot start: the row says which */
  }
  return core.get(row.id);
}

/** Start every stopped container whose policy says it should run (after a host restart); returns their names. */
export async function startAll(core: EngineCore): Promise<string[]> {
  const started: string[] = [];
  for (const row of await listContainers(core, { all: true })) {
    if ((row.status === 'exited' || row.status === 'dead') && wantsRestart(row)) {
      await core.start(row.id);
      started.push(row.name);
    }
  }
  return started;
}
