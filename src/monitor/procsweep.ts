// Every process of the host read from /proc in one pass: many process trees (one per bot) are then measured
// from the same snapshot, instead of one /proc scan per tree.
import { readFileSync, readdirSync } from 'node:fs';

/** USER_HZ: the unit of /proc's CPU times, fixed at 100 by the kernel's ABI on the architectures Node runs on. */
const TICKS_PER_SECOND = 100;

export interface ProcEntry {
  ppid: number;
  /** start time in clock ticks since boot (a pid is only trusted together with it) */
  start: string;
  /** user plus system CPU time, in ms */
  cpuMs: number;
  rss: number;
  /** its threads (a process counts its main thread) */
  threads: number;
}

let pageSize: number | undefined;

/** The kernel's page size: /proc/self/statm counts pages, process.memoryUsage() bytes, of the same memory. */
function pageBytes(): number {
  if (pageSize) return pageSize;
  try {
    const pages = Number(readFileSync('/proc/self/statm', 'utf8').split(' ')[1]);
    const ratio = process.memoryUsage.rss() / pages;
    pageSize = pages > 0 ? 2 ** Math.round(Math.log2(ratio)) : 4096;
  } catch {
    pageSize = 4096;
  }
  return pageSize;
}

/** One read of /proc/PID/stat for every live process (zombies left out). */
export function sweepProcs(): Map<number, ProcEntry> {
  const page = pageBytes();
  const out = new Map<number, ProcEntry>();
  for (const d of readdirSync('/proc')) {
    const pid = Number(d);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    let s: string;
    try {
      s = readFileSync(`/proc/${pid}/stat`, 'latin1');
    } catch {
      continue; // ended while we read
    }
    // fields after the command name (which may hold spaces and parentheses): state is f[0], ppid f[1]
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    if (f[0] === 'Z' || f[0] === 'X') continue;
    out.set(pid, { ppid: Number(f[1]), start: f[19], cpuMs: ((Number(f[11]) + Number(f[12])) * 1000) / TICKS_PER_SECOND, rss: Number(f[21]) * page, threads: Number(f[17]) || 1 });
  }
  return out;
}

/** The pids of root's tree (root first) in a sweep, or [] when root is gone or is another process now. */
export function treeOf(procs: Map<number, ProcEntry>, children: Map<number, number[]>, root: { pid: number; start: string }): number[] {
  if (procs.get(root.pid)?.start !== root.start) return [];
  const out = [root.pid];
  for (let i = 0; i < out.length && out.length < 100_000; i++) out.push(...(children.get(out[i]) ?? []));
  return out;
}

/** Parent → children of a sweep, for treeOf. */
export function childrenOf(procs: Map<number, ProcEntry>): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (const [pid, p] of procs) {
    const list = out.get(p.ppid);
    if (list) list.push(pid);
    else out.set(p.ppid, [pid]);
  }
  return out;
}

/**
 * CPU time, memory, threads (pids, as pids.max counts them) and processes of the tree rooted at the live
 * process pid, from one sweep; undefined when it is gone.
 */
export function treeUsage(procs: Map<number, ProcEntry>, children: Map<number, number[]>, pid: number): { cpuMs: number; rss: number; pids: number; processes: number } | undefined {
  const root = procs.get(pid);
  const tree = root ? treeOf(procs, children, { pid, start: root.start }) : [];
  if (!tree.length) return undefined;
  let cpuMs = 0;
  let rss = 0;
  let threads = 0;
  for (const p of tree) {
    cpuMs += procs.get(p)!.cpuMs;
    rss += procs.get(p)!.rss;
    threads += procs.get(p)!.threads;
  }
  return { cpuMs, rss, pids: threads, processes: tree.length };
}
