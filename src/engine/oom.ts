// OOM kills of any process of a container (an exec'd one too), recorded as events from the cgroup's count.
import { cgroupOomKills } from '../runtime/cgroups.js';
import type { StateStore } from '../state/store.js';
import type { ContainerRow } from '../state/types.js';
import { recordEvent } from './core.js';

/**
 * Record an `oom` event when the container's memory cgroup counts more OOM kills than already recorded.
 * The main process's own OOM exit is recorded with its exit as well; this catches every other process.
 */
export function recordOomKills(store: StateStore, row: ContainerRow): ContainerRow {
  const kills = cgroupOomKills(row.state.cgroups);
  if (kills === undefined || kills <= (row.state.oomSeen ?? 0)) return row;
  return store.tx(() => {
    const cur = store.getContainer(row.id);
    if (!cur) return row;
    const seen = cur.state.oomSeen ?? 0;
    if (kills <= seen) return cur;
    const state = { ...cur.state, oomSeen: kills };
    store.updateContainer(cur.id, cur.status, state);
    recordEvent(store, 'oom', cur, { kills: kills - seen, total: kills });
    return { ...cur, state };
  });
}
