// Changing a running container's cgroup limits in place (docker update): which file holds each limit on
// v1 and v2, and the order the writes need so the kernel never sees memory above memory+swap.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { EngineError } from '../errors.js';
import type { CgroupSet } from './cgroups.js';

/** The limits update can change live; memorySwap is memory plus swap in bytes (-1 unlimited swap). */
export interface LiveLimits {
  memory?: number;
  memorySwap?: number;
  cpus?: number;
  cpuShares?: number;
  pids?: number;
}

/** The flag each limit is given with, to refuse one by name. */
export const LIMIT_FLAGS: Record<keyof LiveLimits, string> = { memory: '--memory', memorySwap: '--memory-swap', cpus: '--cpus', cpuShares: '--cpu-shares', pids: '--pids-limit' };

const CPU_PERIOD_US = 100_000;
const V1_UNLIMITED = '-1';

/** The container's cgroup directory for a v1 controller (or the unified one on v2), if it has one. */
function dirFor(set: CgroupSet, controller: 'memory' | 'cpu' | 'pids'): string | undefined {
  if (set.version === 'v2') return set.controllers.includes(controller) ? set.dirs[0] : undefined;
  return set.dirs.find((d) => new RegExp(`/${controller}(,[^/]*)?/codex32/[0-9a-f]{64}$`).test(d) && existsSync(`${d}/${controller === 'cpu' ? 'cpu.shares' : controller === 'pids' ? 'pids.max' : 'memory.limit_in_bytes'}`));
}

/** One cgroup file write planned by an update. */
interface Write {
  file: string;
  value: string;
}

/**
 * The writes that apply limits to a running container's cgroups, in a safe order; a limit its cgroups
 * cannot hold is refused by its flag before anything is written.
 */
export function planLiveWrites(set: CgroupSet | undefined, want: LiveLimits, memoryNow?: number): Write[] {
  const refuse = (k: keyof LiveLimits, why: string) =>
    new EngineError('HOST_UNSUPPORTED', `Cannot change ${LIMIT_FLAGS[k]} of this running container: ${why}. Stop it, update, and start it again.`, { context: { flag: LIMIT_FLAGS[k] } });
  const writes: Write[] = [];
  const mem = set && dirFor(set, 'memory');
  if ((want.memory !== undefined || want.memorySwap !== undefined) && !mem) throw refuse(want.memory !== undefined ? 'memory' : 'memorySwap', 'it has no memory cgroup');
  if (mem && set!.version === 'v1') {
    const memsw = `${mem}/memory.memsw.limit_in_bytes`;
    if (want.memorySwap !== undefined && !existsSync(memsw)) throw refuse('memorySwap', 'this kernel has no swap accounting (memory.memsw.limit_in_bytes)');
    const total = want.memorySwap !== undefined ? (want.memorySwap < 0 ? V1_UNLIMITED : String(want.memorySwap)) : want.memory !== undefined && existsSync(memsw) ? String(want.memory) : undefined;
    const memW = want.memory !== undefined ? { file: `${mem}/memory.limit_in_bytes`, value: String(want.memory) } : undefined;
    const swW = total !== undefined ? { file: memsw, value: total } : undefined;
    // memory may never exceed memory+swap: a memory above the current total needs the total raised first
    const swFirst = !!memW && !!swW && Number(memW.value) > currentNumber(memsw);
    for (const w of swFirst ? [swW, memW] : [memW, swW]) if (w) writes.push(w);
  } else if (mem) {
    if (want.memory !== undefined) writes.push({ file: `${mem}/memory.max`, value: String(want.memory) });
    if (want.memorySwap !== undefined) {
      if (!existsSync(`${mem}/memory.swap.max`)) throw refuse('memorySwap', 'this kernel has no swap accounting (memory.swap.max)');
      const memory = want.memory ?? memoryNow;
      writes.push({ file: `${mem}/memory.swap.max`, value: want.memorySwap < 0 ? 'max' : String(Math.max(0, want.memorySwap - (memory ?? 0))) });
    } else if (want.memory !== undefined && existsSync(`${mem}/memory.swap.max`)) writes.push({ file: `${mem}/memory.swap.max`, value: '0' });
  }
  const cpu = set && dirFor(set, 'cpu');
  if ((want.cpus !== undefined || want.cpuShares !== undefined) && !cpu) throw refuse(want.cpus !== undefined ? 'cpus' : 'cpuShares', 'it has no cpu cgroup (at minimal isolation its CPU limit is the supervisor\'s throttle, set at start)');
  if (cpu && want.cpus !== undefined) {
    const quota = want.cpus > 0 ? String(Math.round(want.cpus * CPU_PERIOD_US)) : set!.version === 'v2' ? 'max' : '-1';
    if (set!.version === 'v2') writes.push({ file: `${cpu}/cpu.max`, value: `${quota} ${CPU_PERIOD_US}` });
    else writes.push({ file: `${cpu}/cpu.cfs_period_us`, value: String(CPU_PERIOD_US) }, { file: `${cpu}/cpu.cfs_quota_us`, value: quota });
  }
  if (cpu && want.cpuShares !== undefined) {
    if (set!.version === 'v2') writes.push({ file: `${cpu}/cpu.weight`, value: String(Math.round(1 + ((want.cpuShares - 2) * 9999) / 262142)) });
    else writes.push({ file: `${cpu}/cpu.shares`, value: String(want.cpuShares) });
  }
  const pids = set && dirFor(set, 'pids');
  if (want.pids !== undefined && !pids) throw refuse('pids', 'it has no pids cgroup');
  if (pids && want.pids !== undefined) writes.push({ file: `${pids}/pids.max`, value: want.pids > 0 ? String(want.pids) : 'max' });
  return writes;
}

function currentNumber(file: string): number {
  try {
    return Number(readFileSync(file, 'utf8').trim());
  } catch {
    return 0;
  }
}

/** Carry out planned writes; the kernel's refusal (memory below current usage, say) names the file and value. */
export function applyLiveWrites(writes: Write[]): void {
  for (const w of writes) {
    try {
      writeFileSync(w.file, w.value);
    } catch (cause) {
      throw new EngineError('RUNTIME_FAILED', `Cannot write ${w.value} to ${w.file}: ${(cause as Error).message}`, { cause, context: { path: w.file } });
    }
  }
}
