// Resource usage of whole containers: every process they have (cgroup members or the init's tree), via pidusage.
import { createRequire } from 'node:module';
import { cgroupCpuMs, cgroupMemory, cgroupPids } from '../runtime/cgroups.js';
import { descendants, isAlive } from '../runtime/proc.js';
import type { ContainerRow } from '../state/types.js';

export interface StatsSample {
  id: string;
  name: string;
  time: number;
  /** CPU time of all processes, in ms */
  cpuMs: number;
  /** resident memory summed over the processes */
  rss: number;
  /** cgroup memory usage and limit, when the container has a memory cgroup */
  memUsage?: number;
  memLimit?: number;
  pids: number;
  uptimeMs: number;
  restarts: number;
}

/** Every pid of a running container. */
export function containerPids(row: ContainerRow): number[] {
  const fromCgroup = cgroupPids(row.state.cgroups);
  if (fromCgroup.length) return fromCgroup;
  const init = row.state.init;
  if (!init || !isAlive(init)) return [];
  return [init.pid, ...descendants(init.pid)];
}

/** One sample of each running container; CPU % comes from two samples (see cpuPercent). */
export async function sampleStats(rows: ContainerRow[]): Promise<StatsSample[]> {
  const pidusage = createRequire(import.meta.url)('pidusage') as typeof import('pidusage'); // only stats needs it
  const pidsOf = new Map(rows.map((r) => [r.id, containerPids(r)]));
  const all = [...new Set([...pidsOf.values()].flat())];
  let usage: Record<string, { ctime: number; memory: number } | undefined> = {};
  if (all.length) {
    // one pidusage call for every process: it reads /proc once per pid
    usage = await pidusage(all).catch(async () => {
      const out: typeof usage = {};
      for (const p of all) out[p] = await pidusage(p).catch(() => undefined);
      return out;
    });
  }
  pidusage.clear();
  const now = Date.now();
  return rows.map((r) => {
    const pids = pidsOf.get(r.id) ?? [];
    let cpuMs = 0;
    let rss = 0;
    for (const p of pids) {
      const u = usage[p];
      if (!u) continue;
      cpuMs += u.ctime;
      rss += u.memory;
    }
    const mem = cgroupMemory(r.state.cgroups);
    // the cgroup keeps the time of processes that have exited (an npm install's); the live ones' sum does not
    cpuMs = cgroupCpuMs(r.state.cgroups) ?? cpuMs;
    return {
      id: r.id,
      name: r.name,
      time: now,
      cpuMs,
      rss,
      memUsage: mem?.usage,
      memLimit: mem?.limit ?? r.config.limits.memory,
      pids: pids.length,
      uptimeMs: r.state.startedAt ? now - r.state.startedAt : 0,
      restarts: r.state.restartCount,
    };
  });
}

/** CPU % between two samples of the same container (100 % = one full CPU). */
export function cpuPercent(prev: StatsSample | undefined, cur: StatsSample): number {
  if (!prev || cur.time <= prev.time) return 0;
  return Math.max(0, ((cur.cpuMs - prev.cpuMs) / (cur.time - prev.time)) * 100);
}
