// Rootless limits: a cgroup limit this user has no delegated cgroup for is refused by name, never dropped.
import { fieldError } from '../errors.js';
import { cgroupLimitsFor, missingControllers, type CgroupLimits } from './cgroups.js';
import type { HostInfo } from './probe.js';

/** The config field of each limit, by the controller it needs. */
const FIELDS: Record<'memory' | 'pids' | 'cpu', Array<[keyof CgroupLimits, string]>> = {
  memory: [['memory', 'limits.memory'], ['memorySwap', 'limits.memorySwap']],
  pids: [['pids', 'limits.pids']],
  cpu: [['cpus', 'limits.cpus'], ['cpuShares', 'limits.cpuShares']],
};

/** The fields of the limits that need a controller this user cannot write. */
export function rootlessRefused(isolation: 'minimal' | 'standard' | 'strict', limits: CgroupLimits, cg: HostInfo['cgroup']): string[] {
  const held = cgroupLimitsFor(isolation, limits, cg);
  return missingControllers(cg, held).flatMap((c) => FIELDS[c as keyof typeof FIELDS].filter(([k]) => held[k] !== undefined).map(([, f]) => f));
}

/**
 * Refuse, naming each field, the limits an ordinary user cannot hold here: without a cgroup delegated
 * to it (a systemd user session with Delegate=yes) it can write none, and a limit dropped silently
 * would let the container take what its owner meant to deny it.
 */
export function checkRootlessLimits(isolation: 'minimal' | 'standard' | 'strict', limits: CgroupLimits, cg: HostInfo['cgroup']): void {
  const fields = rootlessRefused(isolation, limits, cg);
  if (!fields.length) return;
  const list = fields.map((f) => `\`${f}\``).join(', ');
  throw fieldError(
    'HOST_UNSUPPORTED',
    `Expected no ${list} here: codex32 runs rootless, and this user has no delegated cgroup to hold ${fields.length > 1 ? 'them' : 'it'}. Run codex32 inside a systemd user session with cgroup delegation (e.g. \`systemd-run --user --scope -p Delegate=yes codex32 ...\`), or leave ${fields.length > 1 ? 'them' : 'it'} out.`,
    fields,
  );
}
