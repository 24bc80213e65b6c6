// Launch the per-container shim detached, wait for its start report, and read what it records.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EngineError } from '../errors.js';
import type { ProcRef, RunRecord } from '../state/types.js';
import { launchThrough } from './launcher.js';
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

export type LaunchResult =
  | { ok: true; shim: ProcRef; init: ProcRef }
  | { ok: false; shim?: ProcRef; exitCode: number; message: string };

/** What one launch gathers from its shim: the shim, its start report, and the outcome once complete. */
function startReport(runDir: string, bin: string, onAttach: () => void) {
  let shim: ProcRef | undefined;
  let out = '';
  let resolvePromise!: (r: LaunchResult) => void;
  let rejectPromise!: (e: Error) => void;
  const result = new Promise<LaunchResult>((res, rej) => ((resolvePromise = res), (rejectPromise = rej)));
  const r = {
    result,
    spawned: () => shim !== undefined,
    onSpawn: (ref: ProcRef | undefined) => (shim = ref),
    onText: (d: string) => {
      out += d;
      if (out.startsWith('attach\n')) {
        out = out.slice(7);
        onAttach();
      }
      // `ok` and `err` are the report's last line (the shim closes it after either): the outcome is
      // known now, a wake-up before the report's end arrives
      if (/^(ok|err) .*\n$/.test(out)) r.onEnd();
    },
    onEnd: () => resolvePromise(startOutcome(runDir, shim, out.trim())),
    /** spawn the shim from this process, as a CLI does */
    direct: () => {
      const child = spawn(bin, ['run', runDir], { detached: true, stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
      if (child.pid) r.onSpawn(procRef(child.pid)); // our child: a zombie until we reap it, never gone yet
      const pipe = child.stdio[3] as NodeJS.ReadableStream;
      pipe.setEncoding('utf8');
      pipe.on('data', r.onText);
      pipe.on('end', () => {
        child.unref();
        r.onEnd();
      });
      child.on('error', (cause) => rejectPromise(new EngineError('RUNTIME_FAILED', `Cannot start the supervisor ${bin}: ${cause.message}`, { cause })));
    },
  };
  return r;
}

/**
 * Start the shim for runDir in its own session; resolves once the container's command has exec'd or
 * failed to. With attach_wait in the spec the shim first says `attach` and waits for a client:
 * onAttach is called then, and the command starts once it connected. A long-lived engine launches
 * through the fork server (launcher.ts); a CLI, or an engine whose fork server is gone, spawns directly.
 */
export function launchShim(runDir: string, onAttach?: () => void): Promise<LaunchResult> {
  const bin = shimPath();
  const r = startReport(runDir, bin, () => onAttach?.());
  const viaLauncher = launchThrough(bin, runDir, {
    onSpawn: r.onSpawn,
    onLine: (line) => r.onText(line + '\n'),
    onEnd: r.onEnd,
    // a fork server that died before spawning this shim: spawn it here; after, its report is cut short
    onLost: () => (r.spawned() ? r.onEnd() : r.direct()),
  });
  if (!viaLauncher) r.direct();
  return r.result;
}

/** A shim on its way: go() starts the container as launchShim does, cancel() abandons the start. */
export interface PendingShim {
  go(onAttach?: () => void): Promise<LaunchResult>;
  cancel(): void;
}

/**
 * Spawn the shim for runDir before its run is prepared, where the fork server can hold it: its exec
 * and start-up (about a millisecond) overlap the engine's cgroups, network and spec. It reads nothing
 * of runDir before go(). Without a fork server (a CLI) go() launches it then, as launchShim.
 */
export function prepareShim(runDir: string): PendingShim {
  const bin = shimPath();
  let onAttach: (() => void) | undefined;
  let released = false;
  let gone = false; // ended before its go (its fork server died, or it was killed): go() starts afresh
  const r = startReport(runDir, bin, () => onAttach?.());
  const held = launchThrough(
    bin,
    runDir,
    {
      onSpawn: r.onSpawn,
      onLine: (line) => r.onText(line + '\n'),
      onEnd: () => (released ? r.onEnd() : (gone = true)),
      onLost: () => (!released ? (gone = true) : r.spawned() ? r.onEnd() : r.direct()),
    },
    true,
  );
  if (!held) return { go: (cb) => launchShim(runDir, cb), cancel: () => undefined };
  return {
    go: (cb) => {
      if (gone) return launchShim(runDir, cb);
      onAttach = cb;
      released = true;
      held.go();
      return r.result;
    },
    cancel: () => held.cancel(),
  };
}

/** What a shim's start report says: started (with its init), or failed with a code and a message. */
function startOutcome(runDir: string, shim: ProcRef | undefined, line: string): LaunchResult {
  const ok = /^ok (\d+) (\d+)$/.exec(line);
  if (ok && shim) return { ok: true, shim, init: { pid: Number(ok[1]), start: ok[2] } };
  const err = /^err (\d+) (\d+) (.*)$/.exec(line);
  if (err) return { ok: false, shim, exitCode: Number(err[1]), message: err[3] };
  let detail = '';
  try {
    detail = readFileSync(`${runDir}/shim.err`, 'utf8').trim().split('\n').pop() ?? '';
  } catch {
    /* nothing recorded */
  }
  return { ok: false, shim, exitCode: 125, message: detail || 'the supervisor exited before starting the container' };
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
  writeFileSync(`${runDir}/stop-request.tmp`, line);
  renameSync(`${runDir}/stop-request.tmp`, `${runDir}/stop-request`);
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
    state = readFileSync(`${runDir}/state`, 'utf8').trim();
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
  return `${state}|${size('exits')}|${size('events')}`;
}

/** The shim's current state file, or undefined if it wrote none yet. */
export function readShimState(runDir: string): ShimState | undefined {
  let s: string;
  try {
    s = readFileSync(`${runDir}/state`, 'utf8');
  } catch {
    return undefined;
  }
  const [phase, pid, start, run, restarts, health, streak, started] = s.trim().split(' ');
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

/** Every exit the shim recorded, oldest first. */
export function readExits(runDir: string): RunRecord[] {
  let s: string;
  try {
    s = readFileSync(`${runDir}/exits`, 'utf8');
  } catch {
    return [];
  }
  const out: RunRecord[] = [];
  for (const line of s.split('\n')) {
    const f = line.split(' ');
    if (f.length < 7) continue; // a torn last line is impossible (single write) but cheap to ignore
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

/** Events the shim appended (health transitions), oldest first. */
export function readShimEvents(runDir: string): Array<{ time: number; type: string; value: string }> {
  let s: string;
  try {
    s = readFileSync(`${runDir}/events`, 'utf8');
  } catch {
    return [];
  }
  return s
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [time, type, value] = l.split(' ');
      return { time: Number(time), type, value };
    });
}
