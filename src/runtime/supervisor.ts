// The per-container shim: its binary, the stop requests the engine hands it, and the files it records
// (its launch is shim-launch.ts).
import { existsSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EngineError } from '../errors.js';
import { RUN_FILES } from './contract.js';
import type { ProcRef, RunRecord } from '../state/types.js';
import { procRef, signalRef } from './proc.js';

const builtShim = resolve(dirname(fileURLToPath(import.meta.url)), '../../build/codex32-shim');

/** The shim binary: CODEX32_SHIM, else build/codex32-shim at the package root. */
export function shimPath(): string {
  const p = process.env.CODEX32_SHIM ?? builtShim;
  if (!existsSync(p))
    throw new EngineError('HOST_UNSUPPORTED', `The supervisor binary ${p} is missing. Run \`make build\` (or \`./setup.sh\`) to build it.`, { context: { path: p } });
  return p;
}

/** bin/codex32 at the package root: the CLI a supervisor's exit command runs. */
export function cliPath(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '../../bin/codex32');
}

/** How the shim stops a container: what it writes to RUNDIR/stop-request. */
export interface StopRequest {
  /** Sent once to the container's main process, as docker does (to every process with scope `group`). */
  signal: number;
  /** Milliseconds after which every process of the container gets SIGKILL; -1 never escalates (a kill). */
  graceMs: number;
  reason: 'stopped' | 'killed';
  /** `main` (the default): the main process only; `group`: every process of the container, each once. */
  scope?: 'main' | 'group';
}

/** Ask the shim supervising runDir to stop its container; false when there is no live shim to ask. */
export function requestStop(runDir: string, shim: ProcRef | undefined, req: StopRequest): boolean {
  const line = `${req.signal} ${Math.round(req.graceMs)} ${req.reason} ${req.scope ?? 'main'}`;
  writeFileSync(`${runDir}/${RUN_FILES.stopRequest}.tmp`, line);
  renameSync(`${runDir}/${RUN_FILES.stopRequest}.tmp`, `${runDir}/${RUN_FILES.stopRequest}`);
  return signalRef(shim, 'SIGUSR1');
}

export interface ShimState {
  phase: 'running' | 'restarting' | 'stopping' | 'exited';
  init: ProcRef;
  run: number;
  restarts: number;
  health: string;
  healthStreak: number;
  runStartedAt: number;
}

/**
 * A fingerprint of everything the supervisor has recorded: its state line (rewritten by rename on every
 * change) and the sizes of its append-only exits and events files. Equal marks mean nothing new.
 */
export function recordMark(runDir: string): string {
  let state = '';
  try {
    state = readFileSync(`${runDir}/${RUN_FILES.state}`, 'utf8').trim();
  } catch {
    /* not written yet */
  }
  const size = (f: string) => {
    try {
      return statSync(`${runDir}/${f}`).size;
    } catch {
      return -1;
    }
  };
  return `${state}|${size(RUN_FILES.exits)}|${size(RUN_FILES.events)}`;
}

/** The shim's current state file, or undefined if it wrote none yet. */
export function readShimState(runDir: string): ShimState | undefined {
  let s: string;
  try {
    s = readFileSync(`${runDir}/${RUN_FILES.state}`, 'utf8');
  } catch {
    return undefined;
  }
  const [phase, pid, start, run, restarts, health, streak, started] = s.trim().split(' ');
  const nums = [pid, start, run, restarts, streak, started].map((v) => (v !== undefined && /^-?\d+$/.test(v) ? Number(v) : NaN));
  // a record the supervisor could not finish (a full disk) says nothing: as if it had not written one
  if (!SHIM_PHASES.has(phase) || nums.some((n) => !Number.isSafeInteger(n)) || !health) return undefined;
  return {
    phase: phase as ShimState['phase'],
    init: { pid: Number(pid), start },
    run: Number(run),
    restarts: Number(restarts),
    health,
    healthStreak: Number(streak),
    runStartedAt: Number(started),
  };
}

const SHIM_PHASES = new Set(['running', 'restarting', 'stopping', 'exited']);

/** Every exit the shim recorded, oldest first. */
export function readExits(runDir: string): RunRecord[] {
  let s: string;
  try {
    s = readFileSync(`${runDir}/${RUN_FILES.exits}`, 'utf8');
  } catch {
    return [];
  }
  const out: RunRecord[] = [];
  const lines = s.split('\n');
  lines.pop(); // after the last newline: empty, or a line the supervisor could not finish (a full disk)
  for (const line of lines) {
    const f = line.split(' ');
    if (f.length < 7 || !f.slice(0, 6).every((v) => /^-?\d+$/.test(v))) continue; // torn: skipped, never half-read
    out.push({
      run: Number(f[0]),
      startedAt: Number(f[1]),
      finishedAt: Number(f[2]),
      exitCode: Number(f[3]),
      signal: Number(f[4]),
      oom: f[5] === '1',
      reason: f[6],
    });
  }
  return out;
}

/**
 * Find a live shim supervising runDir by its exact command line. Used when the engine process that
 * launched it died before recording its pid: the container is adopted, never silently disowned.
 */
export function findShim(runDir: string): ProcRef | undefined {
  const want = `run\0${runDir}\0`;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'latin1');
      if (cmd.endsWith(want) && cmd.includes('codex32-shim')) return procRef(Number(d));
    } catch {
      /* gone */
    }
  }
  return undefined;
}

/** Events the shim appended (health transitions, log failures), oldest first; the value is the rest of the line. */
export function readShimEvents(runDir: string): Array<{ time: number; type: string; value: string }> {
  let s: string;
  try {
    s = readFileSync(`${runDir}/${RUN_FILES.events}`, 'utf8');
  } catch {
    return [];
  }
  return s
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [time, type, ...value] = l.split(' ');
      return { time: Number(time), type, value: value.join(' ') };
    });
}
