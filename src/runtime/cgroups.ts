// Per-container cgroups on v1 (one directory per controller) and v2 (one unified directory).
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { EngineError } from '../errors.js';
import { ensureV2Parent } from './cgroup-parent.js';
import type { HostInfo } from './probe.js';

export interface CgroupLimits {
  memory?: number;
  /** memory plus swap (-1: unlimited swap); unset: no swap */
  memorySwap?: number;
  pids?: number;
  cpus?: number;
  /** relative CPU weight when CPUs are contended (docker's --cpu-shares, 2-262144, default 1024) */
  cpuShares?: number;
}

export interface CgroupSet {
  /** directories the container's processes are placed in */
  dirs: string[];
  /** the file whose "oom_kill N" line counts OOM kills (v1 memory.oom_control, v2 memory.events) */
  oomEvents?: string;
  /** where memory usage is read */
  memoryDir?: string;
  /** the container's accumulated CPU time: v1 cpuacct.usage (ns), v2 cpu.stat (usage_usec) */
  cpuUsage?: string;
  version: 'v1' | 'v2';
  /** the controllers the container's processes are under */
  controllers: string[];
}

const CPU_PERIOD_US = 100_000;

function write(path: string, value: string): void {
  try {
    writeFileSync(path, value);
  } catch (cause) {
    throw new EngineError('RUNTIME_FAILED', `Cannot write ${value} to ${path}: ${(cause as Error).message}`, { cause, context: { path } });
  }
}

/** Which controllers the limits need. */
function needed(limits: CgroupLimits): Array<'memory' | 'pids' | 'cpu'> {
  const out: Array<'memory' | 'pids' | 'cpu'> = [];
  if (limits.memory) out.push('memory');
  if (limits.pids) out.push('pids');
  if (limits.cpus || limits.cpuShares) out.push('cpu');
  return [...new Set(out)];
}

/** Controllers the limits need that this host cannot give. */
export function missingControllers(cg: HostInfo['cgroup'], limits: CgroupLimits): string[] {
  return needed(limits).filter((c) => !cg.controllers[c]);
}

/**
 * The limits a container's cgroups must hold at its isolation level. Minimal has fallbacks for two
 * of them where the host lacks the controller: --memory is an address-space rlimit per process and
 * --cpus the supervisor's throttle. --pids has none: RLIMIT_NPROC counts every process of the uid
 * on the whole host, so one container would starve another of the same uid; only a pids cgroup
 * limits one container's processes.
 */
export function cgroupLimitsFor(isolation: 'minimal' | 'standard' | 'strict', limits: CgroupLimits, cg: HostInfo['cgroup']): CgroupLimits {
  const out: CgroupLimits = { memory: limits.memory, memorySwap: limits.memorySwap, pids: limits.pids, cpus: limits.cpus, cpuShares: limits.cpuShares };
  if (isolation === 'minimal') {
    if (!cg.controllers.memory) delete out.memory;
    if (!cg.controllers.cpu) delete out.cpus; // the supervisor's throttle; a weight has no fallback
  }
  return out;
}

/** True when the kernel accounts swap per cgroup (v1 memory.memsw.*, v2 memory.swap.max), so a swap limit holds. */
export function swapAccounted(cg: HostInfo['cgroup']): boolean {
  if (cg.version === 'v2' && cg.unified) {
    try {
      return existsSync(`${ensureV2Parent(cg.unified)}/memory.swap.max`); // never in the root: in the containers' parent
    } catch {
      return false;
    }
  }
  return !!cg.controllers.memory && existsSync(`${cg.controllers.memory}/memory.memsw.limit_in_bytes`);
}

/** Refuse limits this host cannot hold at the isolation level, naming the controller and why. */
export function checkCgroupLimits(isolation: 'minimal' | 'standard' | 'strict', limits: CgroupLimits, cg: HostInfo['cgroup']): void {
  const missing = missingControllers(cg, cgroupLimitsFor(isolation, limits, cg));
  if (!missing.length) return;
  const why = isolation === 'minimal' && missing.includes('pids')
    ? ' (at minimal too: RLIMIT_NPROC counts every process of the uid on the host, so it cannot limit one container)'
    : '';
  throw new EngineError('HOST_UNSUPPORTED', `This host has no usable cgroup ${missing.join(', ')} controller, which the requested limit needs at ${isolation} isolation${why}. Run \`codex32 info\`.`);
}

/**
 * Create the container's cgroups and write its limits. Every usable controller gets a directory even
 * without a limit: the cgroup is how stop finds every process, whatever it forked.
 */
export function createCgroups(cg: HostInfo['cgroup'], id: string, limits: CgroupLimits): CgroupSet | undefined {
  const missing = missingControllers(cg, limits);
  if (missing.length)
    throw new EngineError('HOST_UNSUPPORTED', `This host has no usable cgroup ${missing.join(', ')} controller, needed for the requested limits. Run \`codex32 info\` to see what it supports.`);
  if (cg.version === 'v2' && cg.unified) {
    // a subtree delegated to codex32 (under systemd, a unit with Delegate=yes), controllers enabled
    const parent = ensureV2Parent(cg.unified);
    const dir = `${parent}/${id}`;
    mkdirSync(dir, { recursive: true });
    if (limits.memory) {
      write(`${dir}/memory.max`, String(limits.memory));
      const swap = limits.memorySwap === undefined ? '0' : limits.memorySwap < 0 ? 'max' : String(Math.max(0, limits.memorySwap - limits.memory));
      if (existsSync(`${dir}/memory.swap.max`)) write(`${dir}/memory.swap.max`, swap);
    }
    if (limits.pids) write(`${dir}/pids.max`, String(limits.pids));
    if (limits.cpus) write(`${dir}/cpu.max`, `${Math.round(limits.cpus * CPU_PERIOD_US)} ${CPU_PERIOD_US}`);
    // v2 weights run 1-10000 around 100 where v1 shares run 2-262144 around 1024: the kernel's own mapping
    if (limits.cpuShares) write(`${dir}/cpu.weight`, String(Math.round(1 + ((limits.cpuShares - 2) * 9999) / 262142)));
    return { dirs: [dir], oomEvents: cg.controllers.memory ? `${dir}/memory.events` : undefined, memoryDir: dir, cpuUsage: `${dir}/cpu.stat`, version: 'v2', controllers: Object.keys(cg.controllers) };
  }
  const dirs: string[] = [];
  const set: CgroupSet = { dirs, version: 'v1', controllers: Object.keys(cg.controllers) };
  for (const [ctl, base] of Object.entries(cg.controllers) as Array<['memory' | 'pids' | 'cpu', string]>) {
    const dir = `${base}/codex32/${id}`;
    mkdirSync(dir, { recursive: true });
    dirs.push(dir);
    if (ctl === 'memory') {
      set.memoryDir = dir;
      set.oomEvents = `${dir}/memory.oom_control`;
      if (limits.memory) {
        write(`${dir}/memory.limit_in_bytes`, String(limits.memory));
        // no swap: memory+swap equals memory (absent when the kernel has no swap accounting)
        if (existsSync(`${dir}/memory.memsw.limit_in_bytes`)) write(`${dir}/memory.memsw.limit_in_bytes`, String(limits.memorySwap ?? limits.memory));
      }
    }
    if (ctl === 'pids' && limits.pids) write(`${dir}/pids.max`, String(limits.pids));
    if (ctl === 'cpu' && limits.cpus) {
      write(`${dir}/cpu.cfs_period_us`, String(CPU_PERIOD_US));
      write(`${dir}/cpu.cfs_quota_us`, String(Math.round(limits.cpus * CPU_PERIOD_US)));
    }
    if (ctl === 'cpu' && limits.cpuShares) write(`${dir}/cpu.shares`, String(limits.cpuShares));
  }
  addCpuAccounting(set, cg, id);
  // a freezer cgroup: the supervisor freezes the container before killing it, so a forking tree cannot
  // race the kill (v2 has cgroup.kill and cgroup.freeze in the unified directory itself)
  if (cg.freezer && dirs.length) {
    const dir = `${cg.freezer}/codex32/${id}`;
    mkdirSync(dir, { recursive: true });
    dirs.push(dir);
  }
  return dirs.length ? set : undefined;
}

/**
 * v1 keeps CPU time in cpuacct, co-mounted with cpu or on its own: the container gets a directory there
 * too, so the CPU time of its processes that have exited is still counted.
 */
function addCpuAccounting(set: CgroupSet, cg: HostInfo['cgroup'], id: string): void {
  const base = Object.values(cg.controllers)[0];
  if (!base) return;
  const cpuDir = set.dirs.find((d) => cg.controllers.cpu && d.startsWith(cg.controllers.cpu + '/'));
  if (cpuDir && existsSync(`${cpuDir}/cpuacct.usage`)) {
    set.cpuUsage = `${cpuDir}/cpuacct.usage`;
    return;
  }
  const acct = `${base.slice(0, base.lastIndexOf('/'))}/cpuacct`;
  if (!existsSync(`${acct}/cpuacct.usage`)) return;
  const dir = `${acct}/codex32/${id}`;
  try {
    mkdirSync(dir, { recursive: true });
  } catch {
    return; // accounting is a nicety: stats fall back to the live processes' times
  }
  set.dirs.push(dir);
  set.cpuUsage = `${dir}/cpuacct.usage`;
}

/** CPU time in ms of every process the container has had (this run), or undefined without accounting. */
export function cgroupCpuMs(set: CgroupSet | undefined): number | undefined {
  if (!set?.cpuUsage) return undefined;
  try {
    const s = readFileSync(set.cpuUsage, 'utf8');
    if (set.version === 'v2') {
      const m = /usage_usec (\d+)/.exec(s);
      return m ? Number(m[1]) / 1000 : undefined;
    }
    return Number(BigInt(s.trim()) / 1_000_000n);
  } catch {
    return undefined;
  }
}

/** How many processes of the container the kernel's OOM killer has killed (this run), or undefined. */
export function cgroupOomKills(set: CgroupSet | undefined): number | undefined {
  if (!set?.oomEvents) return undefined;
  try {
    const m = /^oom_kill (\d+)$/m.exec(readFileSync(set.oomEvents, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Pids in the container's cgroups. */
export function cgroupPids(set: CgroupSet | undefined): number[] {
  const out = new Set<number>();
  for (const dir of set?.dirs ?? []) {
    try {
      for (const l of readFileSync(`${dir}/cgroup.procs`, 'utf8').split('\n')) if (l) out.add(Number(l));
    } catch {
      /* gone already */
    }
  }
  return [...out];
}

/** SIGKILL everything in the cgroups until they are empty (or give up after about two seconds). */
export async function killCgroups(set: CgroupSet | undefined): Promise<void> {
  // a supervisor that died between its freeze and its thaw must not leave the processes frozen, unkillable
  for (const dir of set?.dirs ?? []) {
    try {
      if (existsSync(`${dir}/freezer.state`)) writeFileSync(`${dir}/freezer.state`, 'THAWED');
    } catch {
      /* gone already */
    }
  }
  for (let i = 0; i < 200; i++) {
    const pids = cgroupPids(set);
    if (!pids.length) return;
    for (const p of pids) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Remove the container's cgroup directories (they must be empty). */
export function removeCgroups(set: CgroupSet | undefined): void {
  for (const dir of set?.dirs ?? []) {
    for (let i = 0; i < 50; i++) {
      try {
        rmdirSync(dir);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') break;
        if ((e as NodeJS.ErrnoException).code !== 'EBUSY') throw e;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
      }
    }
  }
}

/** Current memory usage and limit in bytes from the memory cgroup, when there is one. */
export function cgroupMemory(set: CgroupSet | undefined): { usage: number; limit?: number } | undefined {
  if (!set?.memoryDir) return undefined;
  const read = (f: string) => {
    try {
      return readFileSync(`${set.memoryDir}/${f}`, 'utf8').trim();
    } catch {
      return undefined;
    }
  };
  const usage = read(set.version === 'v2' ? 'memory.current' : 'memory.usage_in_bytes');
  const limit = read(set.version === 'v2' ? 'memory.max' : 'memory.limit_in_bytes');
  if (usage === undefined) return undefined;
  const lim = limit && limit !== 'max' && Number(limit) < 2 ** 60 ? Number(limit) : undefined;
  return { usage: Number(usage), limit: lim };
}

/** Read a small cgroup file, or undefined when it is not there. */
function readCg(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Processes in the container's cgroup: one read of pids.current where there is a pids cgroup. */
export function cgroupTaskCount(set: CgroupSet | undefined): number | undefined {
  const pidsDir = set?.version === 'v2' ? set.dirs[0] : set?.dirs.find((d) => /\/pids\/codex32\//.test(d));
  const n = pidsDir ? readCg(`${pidsDir}/pids.current`) : undefined;
  return n === undefined ? undefined : Number(n);
}

/** Resident memory of the cgroup (anonymous plus mapped files), from memory.stat. */
export function cgroupRss(set: CgroupSet | undefined): number | undefined {
  if (!set?.memoryDir) return undefined;
  const stat = readCg(`${set.memoryDir}/memory.stat`);
  if (stat === undefined) return undefined;
  const field = (k: string) => Number(new RegExp(`^${k} (\\d+)`, 'm').exec(stat)?.[1] ?? 0);
  return set.version === 'v2' ? field('anon') + field('file_mapped') : field('total_rss') + field('total_mapped_file');
}
