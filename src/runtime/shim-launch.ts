// Launching the per-container shim: through the fork server (held while the start is prepared) or
// directly, then its start report, read into an outcome.
import { spawn } from '../lazy.js';
import { readFileSync } from 'node:fs';
import { EngineError } from '../errors.js';
import { RUN_FILES } from './contract.js';
import type { ProcRef } from '../state/types.js';
import { launchThrough } from './launcher.js';
import { pollFor } from './poll.js';
import { isAlive, procRef } from './proc.js';
import { readExits, readShimState, shimPath } from './supervisor.js';

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
    onEnd: () => {
      const line = out.trim();
      if (/^(ok|err) /.test(line) || !isAlive(shim)) resolvePromise(startOutcome(runDir, shim, line));
      else void outcomeFromState(runDir, shim!).then(resolvePromise); // its report was cut short
    },
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
export function startOutcome(runDir: string, shim: ProcRef | undefined, line: string): LaunchResult {
  const ok = /^ok (\d+) (\d+)$/.exec(line);
  if (ok && shim) return { ok: true, shim, init: { pid: Number(ok[1]), start: ok[2] } };
  const err = /^err (\d+) (\d+) (.*)$/.exec(line);
  if (err) return { ok: false, shim, exitCode: Number(err[1]), message: err[3] };
  // no report: a shim killed after its run began has still started the container (its state says so);
  // reported as failed, that run would be lost from the history and its next start would reuse its number
  return recordedOutcome(runDir, shim) ?? failedStart(runDir, shim, 125);
}

/** A start that failed without a report line: the shim's last word in shim.err, if it left one. */
function failedStart(runDir: string, shim: ProcRef | undefined, exitCode: number): LaunchResult {
  let detail = '';
  try {
    detail = readFileSync(`${runDir}/${RUN_FILES.shimErr}`, 'utf8').trim().split('\n').pop() ?? '';
  } catch {
    /* nothing recorded */
  }
  return { ok: false, shim, exitCode, message: detail || 'the supervisor exited before starting the container' };
}

const SETUP_REASONS: Record<string, number> = { 'not-found': 127, 'not-executable': 126, 'setup-failed': 125 };

/**
 * The outcome of a start whose report was cut short while its shim lives on (the fork server relaying
 * it died): what the shim recorded says, so a container it started is never reported as failed and
 * left running unrecorded. Waits for its state file, or its end, up to timeoutMs.
 */
export async function outcomeFromState(runDir: string, shim: ProcRef, timeoutMs = 10_000): Promise<LaunchResult> {
  const recorded = await pollFor(() => recordedOutcome(runDir, shim) ?? (isAlive(shim) ? undefined : failedStart(runDir, shim, 125)), timeoutMs);
  return recorded ?? failedStart(runDir, shim, 125);
}

/** What the shim's own files say of a start whose report is missing: undefined while no run has begun. */
function recordedOutcome(runDir: string, shim: ProcRef | undefined): LaunchResult | undefined {
  const state = readShimState(runDir);
  if (!state || !shim) return undefined;
  const last = readExits(runDir).at(-1);
  if (last && state.phase === 'exited' && last.run === state.run && SETUP_REASONS[last.reason] !== undefined)
    return { ok: false, shim, exitCode: SETUP_REASONS[last.reason], message: `the command could not be started (${last.reason}); its log says why` };
  return { ok: true, shim, init: state.init }; // running, or ran and has already ended: the engine's reconcile records how
}
