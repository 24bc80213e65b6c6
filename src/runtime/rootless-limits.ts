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
 * Refuse, naming each field, the limits an ordinary user cannot hold here: it writes only a cgroup its
 * systemd manager was delegated (a systemd user session), only with the controllers systemd gave it,
 * and a limit dropped silently would let the container take what its owner meant to deny it.
 */
export function checkRootlessLimits(isolation: 'minimal' | 'standard' | 'strict', limits: CgroupLimits, cg: HostInfo['cgroup']): void {
  const fields = rootlessRefused(isolation, limits, cg);
  if (!fields.length) return;
  const list = fields.map((f) => `\`${f}\``).join(', ');
  const them = fields.length > 1 ? 'them' : 'it';
  const why = cg.version === 'v2'
    ? `the cgroup this user's systemd manager was delegated lacks the ${missingControllers(cg, cgroupLimitsFor(isolation, limits, cg)).join(', ')} controller (systemd's Delegate= of user@.service gives it)`
    : 'this user has no delegated cgroup to hold ' + them;
  throw fieldError(
    'HOST_UNSUPPORTED',
    `Expected no ${list} here: codex32 runs rootless, and ${why}. Run codex32 inside a systemd user session with cgroup delegation on cgroup v2 (\`loginctl enable-linger $USER\` keeps one), or leave ${them} out.`,
    fields,
  );
}
