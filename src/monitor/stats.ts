// Resource usage of whole containers: from their cgroups' accounting where they have one (a few reads per
// container, and the CPU time of exited processes kept), else every process of the init's tree via pidusage.
import { createRequire } from 'node:module';
import { cgroupCpuMs, cgroupMemory, cgroupPids, cgroupRss, cgroupTaskCount } from '../runtime/cgroups.js';
import { descendants, isAlive, threadCount } from '../runtime/proc.js';
import type { ContainerRow } from '../state/types.js';
import { blockIo, netIo, type BlockIo, type NetIo } from './io.js';

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
  /** tasks (threads), as pids.max and docker's pids_stats count them */
  pids: number;
  /** processes (thread groups) */
  processes: number;
  uptimeMs: number;
  restarts: number;
  /** bytes read and written, where the container has a blkio (v1) or io (v2) cgroup */
  blockIo?: BlockIo;
  /** network counters as the container sees them, where it has a veth (private and user networks) */
  netIo?: NetIo;
}

/** Every pid of a running container. */
export function containerPids(row: ContainerRow): number[] {
  const fromCgroup = cgroupPids(row.state.cgroups);
  if (fromCgroup.length) return fromCgroup;
  const init = row.state.init;
  if (!init || !isAlive(init)) return [];
  return [init.pid, ...descendants(init.pid)];
}

/** Usage from the container's own cgroups, or undefined when they do not account for CPU time. */
function fromCgroups(row: ContainerRow): Usage | undefined {
  const set = row.state.cgroups;
  const cpuMs = cgroupCpuMs(set);
  if (cpuMs === undefined) return undefined;
  const procs = cgroupPids(set);
  return { cpuMs, rss: cgroupRss(set) ?? 0, pids: cgroupTaskCount(set) ?? threadCount(procs), processes: procs.length };
}

interface Usage {
  cpuMs: number;
  rss: number;
  pids: number;
  processes: number;
}

/** Usage of the rows without cgroup accounting, summed over each one's processes in one pidusage call. */
async function fromProcesses(rows: ContainerRow[]): Promise<Map<string, Usage>> {
  const out = new Map<string, Usage>();
  if (!rows.length) return out;
  const pidusage = createRequire(import.meta.url)('pidusage') as typeof import('pidusage'); // only stats needs it
  const pidsOf = new Map(rows.map((r) => [r.id, containerPids(r)]));
  const all = [...new Set([...pidsOf.values()].flat())];
  let usage: Record<string, { ctime: number; memory: number } | undefined> = {};
  if (all.length) {
    // one pidusage call for every process: it reads /proc once per pid
    usage = await pidusage(all).catch(async () => {
      const each: typeof usage = {};
      for (const p of all) each[p] = await pidusage(p).catch(() => undefined);
      return each;
    });
  }
  pidusage.clear();
  for (const r of rows) {
    const pids = pidsOf.get(r.id) ?? [];
    let cpuMs = 0;
    let rss = 0;
    for (const p of pids) {
      cpuMs += usage[p]?.ctime ?? 0;
      rss += usage[p]?.memory ?? 0;
    }
    out.set(r.id, { cpuMs, rss, pids: threadCount(pids), processes: pids.length });
  }
  return out;
}

/** One sample of each running container; CPU % comes from two samples (see cpuPercent). */
export async function sampleStats(rows: ContainerRow[]): Promise<StatsSample[]> {
  const accounted = new Map(rows.map((r) => [r.id, fromCgroups(r)]));
  const byProcess = await fromProcesses(rows.filter((r) => !accounted.get(r.id)));
  const now = Date.now();
  return rows.map((r) => {
    const u = accounted.get(r.id) ?? byProcess.get(r.id) ?? { cpuMs: 0, rss: 0, pids: 0, processes: 0 };
    const mem = cgroupMemory(r.state.cgroups);
    return {
      id: r.id,
      name: r.name,
      time: now,
      cpuMs: u.cpuMs,
      rss: u.rss,
      memUsage: mem?.usage,
      memLimit: mem?.limit ?? r.config.limits.memory,
      pids: u.pids,
      processes: u.processes,
      uptimeMs: r.state.startedAt ? now - r.state.startedAt : 0,
      restarts: r.state.restartCount,
      blockIo: blockIo(r),
      netIo: netIo(r),
    };
  });
}

/** CPU % between two samples of the same container (100 % = one full CPU). */
export function cpuPercent(prev: StatsSample | undefined, cur: StatsSample): number {
  if (!prev || cur.time <= prev.time) return 0;
  return Math.max(0, ((cur.cpuMs - prev.cpuMs) / (cur.time - prev.time)) * 100);
}
