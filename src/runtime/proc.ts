// Process identity from /proc: a pid is only trusted together with its start time (pids are reused).
import { readFileSync, readdirSync } from 'node:fs';
import type { ProcRef } from '../state/types.js';

/** Fields of /proc/PID/stat after the command name, or undefined when the process is gone. */
function statFields(pid: number): string[] | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** Threads of the given processes together (what a pids cgroup counts); a process gone meanwhile counts none. */
export function threadCount(pids: number[]): number {
  let n = 0;
  for (const p of pids) {
    try {
      n += readdirSync(`/proc/${p}/task`).length;
    } catch {
      /* gone */
    }
  }
  return n;
}

/** Start time of pid in clock ticks since boot, or undefined when it does not exist. */
export function procStartTime(pid: number): string | undefined {
  return statFields(pid)?.[19];
}

/** A reference to a live process, taken now. */
export function procRef(pid: number): ProcRef | undefined {
  const start = procStartTime(pid);
  return start === undefined ? undefined : { pid, start };
}

/** True when the very process ref names is still alive (and not a zombie). */
export function isAlive(ref: ProcRef | undefined): boolean {
  if (!ref || ref.pid <= 0) return false;
  const f = statFields(ref.pid);
  return !!f && f[19] === ref.start && f[0] !== 'Z' && f[0] !== 'X';
}

/** Signal ref's process only if it is still the same process; returns whether a signal was sent. */
export function signalRef(ref: ProcRef | undefined, signal: number | NodeJS.Signals): boolean {
  if (!isAlive(ref)) return false;
  try {
    process.kill(ref!.pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Every live pid whose parent chain reaches root (root excluded). */
export function descendants(root: number): number[] {
  const parent = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    const pid = Number(d);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    const f = statFields(pid);
    if (f) parent.set(pid, Number(f[1]));
  }
  const out: number[] = [];
  for (const pid of parent.keys()) {
    for (let p = parent.get(pid), depth = 0; p !== undefined && p > 1 && depth < 128; p = parent.get(p), depth++) {
      if (p === root) {
        out.push(pid);
        break;
      }
    }
  }
  return out;
}

/** Pids in process group pgid that started no earlier than notBefore (ticks): never a reused pid's group. */
export function groupMembers(pgid: number, notBefore: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    const pid = Number(d);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    const f = statFields(pid);
    if (f && Number(f[2]) === pgid && BigInt(f[19]) >= BigInt(notBefore)) out.push(pid);
  }
  return out;
}

let self: ProcRef | undefined;

/** Our own identity, recorded while we hold a container in a transitional state (read once: it never changes). */
export function selfRef(): ProcRef {
  return (self ??= procRef(process.pid)!);
}
