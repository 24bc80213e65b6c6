// A run's cgroup set with the container's block I/O cgroup added, so stop, stats and removal see it too.
import { applyBlkio } from '../runtime/blkio.js';
import type { CgroupSet } from '../runtime/cgroups.js';
import type { ContainerRow } from '../state/types.js';

/** Create the block I/O cgroup the container asks for (if any) and add it to the run's set. */
export function withBlkio(set: CgroupSet | undefined, row: ContainerRow): CgroupSet | undefined {
  const dir = applyBlkio(row.id, row.config.blkio);
  if (!dir) return set;
  const base: CgroupSet = set ?? { dirs: [], version: dir.includes('/blkio/') ? 'v1' : 'v2', controllers: [] };
  return base.dirs.includes(dir) ? base : { ...base, dirs: [...base.dirs, dir] };
}
