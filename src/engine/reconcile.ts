import { readFileSync } from 'node:fs';
// Reconcile: make a container's row agree with what its supervisor recorded and what is alive now.
import { cgroupPids } from '../runtime/cgroups.js';
import type { CgroupSet } from '../runtime/cgroups.js';
import { groupMembers, isAlive, signalRef } from '../runtime/proc.js';
import { findShim, readExits, readShimEvents, readShimState, recordMark } from '../runtime/supervisor.js';
import type { StateStore } from '../state/store.js';
import type { ContainerRow, ContainerState, ContainerStatus, RunRecord } from '../state/types.js';
import { EngineError } from '../errors.js';
import { eventAttrs, type EngineCore } from './core.js';
import { recordOomKills } from './oom.js';
import { isActive, removalDue } from './status.js';

/** SIGKILL every process of a container whose supervisor is gone, trusting no bare pid. */
export function killOrphans(row: ContainerRow, cgroups: CgroupSet | undefined): void {
  const init = row.state.init;
  signalRef(init, 'SIGKILL');
  // a minimal container's processes share the host's pid namespace: its cgroups hold every one of them
  // (the supervisor places the command there before it runs), so only a host without cgroups needs the
  // walk of all of /proc for its process group, which costs milliseconds with a few thousand processes
  if (init && row.config.isolation === 'minimal' && !cgroups?.dirs.length) {
    for (const p of groupMembers(init.pid, init.start)) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
  for (const p of cgroupPids(cgroups)) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

let thisBoot: string | undefined; // read once: no process outlives its boot

/** This boot's id: a different one means every supervisor and container died with the host. */
export function bootId(): string {
  if (process.env.CODEX32_BOOT_ID) return process.env.CODEX32_BOOT_ID; // test seam: simulate a reboot
  try {
    return (thisBoot ??= readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim());
  } catch {
    return 'unknown';
  }
}

/**
 * The mark of a running container whose supervisor is alive, or undefined when a full reconcile is due.
 * A row whose stored mark equals it needs no transaction: listing a thousand running containers then
 * costs a few reads each instead of a write lock each.
 */
export function quietMark(row: ContainerRow, runDir: string): string | undefined {
  if ((row.status !== 'running' && row.status !== 'restarting') || !isAlive(row.state.shim)) return undefined;
  return recordMark(runDir);
}

/**
 * When each of the last n restarts happened: the last n run starts the supervisor recorded (each new exit
 * record's, then the current run's when it is past them). Unknown ones read as now.
 */
function restartTimes(exits: RunRecord[], lastRun: number, shim: { run: number; runStartedAt?: number }, n: number): number[] {
  if (!(n > 0)) return [];
  const starts = exits.map((e) => e.startedAt);
  if (shim.run > (exits.at(-1)?.run ?? lastRun) && shim.runStartedAt) starts.push(shim.runStartedAt);
  const known = starts.slice(-n);
  return [...Array<number>(n - known.length).fill(Date.now()), ...known];
}

/**
 * The run a lost supervisor was in the middle of, when its state file names one past the last recorded
 * exit; it ends when the loss was noticed, killed. Undefined while it was between runs.
 */
export function cutRun(shim: ReturnType<typeof readShimState>, lastRecorded: number, at: number, reason: string): RunRecord | undefined {
  if (!shim || shim.run <= lastRecorded || !(shim.runStartedAt > 0)) return undefined;
  return { run: shim.run, startedAt: shim.runStartedAt, finishedAt: Math.max(at, shim.runStartedAt), exitCode: 137, signal: 9, oom: false, reason };
}

/**
 * True when a dead supervisor's last recorded exit was its final word: it had not begun the next run nor
 * decided on one (a restart's backoff). Otherwise the container's policy was cut off, and a run it had
 * begun is lost unless recorded (cutRun).
 */
function endedLast(shim: ReturnType<typeof readShimState>, lastExitRun: number): boolean {
  return !shim || (shim.phase !== 'restarting' && shim.run <= lastExitRun);
}

export interface ReconcileOutcome {
  row: ContainerRow;
  /** events the reconcile observed (die, restart), for the event log */
  events: Array<{ type: string; attrs: Record<string, unknown>; time?: number }>;
}

/**
 * Bring one container up to date. Runs inside the caller's IMMEDIATE transaction, so two processes
 * reconciling at once cannot both record the same exit or lose each other's update.
 */
export function reconcileRow(store: StateStore, row: ContainerRow, runDir: string, mark?: string): ReconcileOutcome {
  const events: ReconcileOutcome['events'] = [];
  if (!isActive(row.status)) return { row, events };
  if (row.status === 'starting' && !row.state.shim && !isAlive(row.state.owner)) {
    // the starter died: adopt the supervisor it may have launched before it could record it
    const found = findShim(runDir);
    if (found) row = { ...row, state: { ...row.state, shim: found } };
  }
  const shimAlive = isAlive(row.state.shim);
  if (row.status === 'starting') {
    if (isAlive(row.state.owner)) return { row, events }; // another process is mid-start
    if (shimAlive && !readShimState(runDir)) {
      store.updateContainer(row.id, 'starting', { ...row.state, owner: undefined });
      return { row, events }; // adopted, still launching its container
    }
    if (!shimAlive && !row.state.shim) {
      // the starter died before launching a supervisor: fall back to where it was
      const state: ContainerState = { ...row.state, owner: undefined };
      const status = row.state.previous ?? 'created';
      store.updateContainer(row.id, status, state);
      return { row: { ...row, status, state }, events };
    }
  }

  const state: ContainerState = { ...row.state, owner: undefined };
  let status: ContainerStatus = row.status;
  const shim = readShimState(runDir);

  // ingest every exit the supervisor recorded that the database does not have yet
  const last = store.lastRun(row.id);
  const exits = readExits(runDir).filter((e) => e.run > last);
  for (const e of exits) {
    store.insertRun(row.id, e);
    // stamped when the supervisor saw the exit, not when this reader noticed it
    events.push({ type: e.oom ? 'oom' : 'die', attrs: { exitCode: e.exitCode, signal: e.signal, reason: e.reason, run: e.run }, time: e.finishedAt });
  }
  const lastExit = exits.at(-1);
  // transitions the supervisor logged between two looks (health), each once
  const shimEvents = readShimEvents(runDir);
  for (const e of shimEvents.slice(row.state.shimEvents ?? 0)) events.push({ type: e.type, attrs: { status: e.value }, time: e.time });
  state.shimEvents = shimEvents.length;

  if (shim) {
    state.init = shim.init;
    if (shim.health !== 'none') state.health = { status: shim.health as 'starting' | 'healthy' | 'unhealthy', failingStreak: shim.healthStreak };
    const count = state.restartBase + shim.restarts;
    for (const r of restartTimes(exits, last, shim, count - state.restartCount))
      events.push({ type: 'restart', attrs: { restartCount: ++state.restartCount }, time: r });
    state.restartCount = count;
    if (shim.runStartedAt) state.startedAt = shim.runStartedAt;
  }
  if (shimAlive) {
    if (shim) status = shim.phase === 'exited' ? 'exited' : shim.phase;
    if (status === 'running' && row.status === 'stopping' && shim?.phase === 'running') status = 'stopping';
  } else if (shim?.phase === 'exited' || (lastExit && !isAlive(shim?.init) && endedLast(shim, lastExit.run))) {
    status = 'exited';
  } else {
    // the supervisor died without recording an end (or in the backoff before a restart it had decided):
    // nothing captures logs or applies policy any more
    killOrphans(row, state.cgroups);
    const rebooted = !!state.bootId && state.bootId !== bootId();
    status = rebooted ? 'exited' : 'dead';
    state.reason = rebooted ? 'host-restart' : 'supervisor-lost';
    state.error = rebooted ? 'the host restarted while the container ran' : 'the supervisor was killed; the container was stopped';
    state.finishedAt = Date.now();
    state.exitCode = 137;
    state.signal = 9;
    // the run it was supervising ends here: recorded, or the history would miss a run that happened
    const cut = cutRun(shim, Math.max(last, lastExit?.run ?? 0), state.finishedAt, state.reason);
    if (cut) store.insertRun(row.id, cut);
    events.push({ type: 'die', attrs: { exitCode: 137, reason: state.reason, ...(cut ? { run: cut.run } : {}) } });
  }
  // the supervisor appends the exit before it writes "exited": a look between the two ingested the
  // exit while the container still showed stopping, so the final look takes it from the store
  const finalExit = lastExit ?? (status === 'exited' && row.status !== 'exited' ? store.listRuns(row.id).at(-1) : undefined);
  if (finalExit && status === 'exited') {
    state.exitCode = finalExit.exitCode;
    state.signal = finalExit.signal;
    state.oomKilled = finalExit.oom;
    state.reason = finalExit.reason;
    state.finishedAt = finalExit.finishedAt;
  }
  if (status !== 'exited' && status !== 'dead' && lastExit) {
    // restarted since: report the last exit but keep running
    state.exitCode = lastExit.exitCode;
  }
  // ended for good with auto-remove: claimed for removal in the same transaction that records the end,
  // so no look in between sees it exited; whichever engine call comes next finishes the job (removalDue)
  if ((status === 'exited' || status === 'dead') && row.config.autoRemove && !state.holdRemoval) status = 'removing';
  // taken before the records were read, so a change after that read still differs from it next time
  if (mark !== undefined && shimAlive && (status === 'running' || status === 'restarting')) state.mark = mark;
  else delete state.mark;
  if (status !== row.status || JSON.stringify(state) !== JSON.stringify(row.state)) store.updateContainer(row.id, status, state);
  // in the order they happened, so the event log reads as a history whoever looked late
  events.sort((a, b) => (a.time ?? Infinity) - (b.time ?? Infinity));
  return { row: { ...row, status, state }, events };
}

/**
 * Bring a row up to date with its supervisor, recording exits and events. An auto-remove container found ended
 * for good is removed in the background: the CLI awaits that before it exits (settle), a list before it answers.
 */
export function reconcileContainer(core: EngineCore, row: ContainerRow): ContainerRow {
  if (!isActive(row.status)) {
    if (removalDue(row)) void core.finishRemoval(row);
    return row;
  }
  row = recordOomKills(core.store, row);
  const mark = quietMark(row, core.paths(row.id).dir);
  if (mark !== undefined && mark === row.state.mark) return row; // nothing recorded since the last look
  const next = core.store.tx(() => {
    const cur = core.store.getContainer(row.id);
    if (!cur) throw new EngineError('NO_SUCH_CONTAINER', `No such container: ${row.name}.`, { context: { container: row.name } });
    const { row: next, events } = reconcileRow(core.store, cur, core.paths(cur.id).dir, mark);
    for (const e of events) core.store.insertEvent({ time: e.time ?? Date.now(), type: e.type, containerId: next.id, name: next.name, attrs: eventAttrs(next, e.attrs) });
    return next;
  });
  if (removalDue(next)) void core.finishRemoval(next);
  return next;
}
