// Lifecycle: start (prepare, launch the supervisor, record), stop, kill and wait.
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, unlinkSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import { chown, readdir, stat } from '../lazy.js';
import { dirname, join } from 'node:path';
import { EngineError } from '../errors.js';
import { prepareImageRoot } from '../images/rootfs.js';
import { imageFor, populateApp, type ContainerImage } from '../images/store.js';
import { containerLogger } from '../logger.js';
import { cgroupLimitsFor, createCgroups, killCgroups, removeCgroups } from '../runtime/cgroups.js';
import { RUN_FILES } from '../runtime/contract.js';
import { withBlkio } from './blkio.js';
import type { ContainerPaths } from '../runtime/layout.js';
import { buildPlan, encodeSpec, STRICT_ID_BASE } from '../runtime/plan.js';
import { isAlive, selfRef, signalRef } from '../runtime/proc.js';
import { pollFor } from '../runtime/poll.js';
import { probeHost } from '../runtime/probe.js';
import { rootlessHost } from '../runtime/rootless.js';
import { connectAttach, type AttachSession } from '../runtime/attach.js';
import { layerIdmap } from '../runtime/idmap.js';
import { mountQuota } from '../runtime/quota.js';
import { prepareShim, type PendingShim } from '../runtime/shim-launch.js';
import { readShimState, requestStop, type StopRequest } from '../runtime/supervisor.js';
import { ensureRoom, stateError } from '../state/errors.js';
import type { ContainerRow, ContainerState, ContainerStatus, ProcRef } from '../state/types.js';
import { allocateIdRange, idRangeOf } from '../state/idranges.js';
import { closeContainerDir } from './access.js';
import { writeMeta } from './ondisk.js';
import { thaw } from './control.js';
import { recordEvent, sleep, type EngineCore } from './core.js';
import { claimPorts, startNetwork, stopNetwork } from './network.js';
import { bootId, killOrphans } from './reconcile.js';
import { canStart, invalidState, isActive } from './status.js';

/** The state of a container being started by owner: the last run's outcome cleared, counts rebased. */
export function startingState(cur: Pick<ContainerRow, 'status' | 'state'>, owner: ProcRef, runBase: number): ContainerState {
  return {
    ...cur.state,
    owner,
    previous: cur.status,
    shim: undefined,
    init: undefined,
    userStopped: false,
    paused: undefined, // a new run's cgroups start thawed
    error: undefined,
    runBase,
    restartBase: cur.state.restartCount,
    shimEvents: 0,
    oomSeen: 0, // each run has a fresh cgroup, whose count starts at zero
  };
}

/**
 * Claim a startable container for this process: it goes to `starting` with our identity as owner. A
 * strict container gets its host uid range here if it holds none (made before ranges, or its range was
 * taken by another container when the database was rebuilt); idBase is that range.
 */
function claimStart(core: EngineCore, row: ContainerRow): { row: ContainerRow; idBase?: number; newRange: boolean; portHolders: ContainerRow[] } {
  return core.store.tx(() => {
    const cur = core.store.getContainer(row.id)!;
    if (!canStart(cur.status)) throw invalidState(cur.name, cur.status, 'start', 'Wait for it to finish, or stop it first.');
    const portHolders = claimPorts(core, cur);
    const state = startingState(cur, selfRef(), core.store.lastRun(cur.id));
    core.store.updateContainer(cur.id, 'starting', state);
    // rootless strict maps the user's own range, as standard does: no range of the pool
    const strict = cur.config.isolation === 'strict' && !rootlessHost();
    const held = strict ? idRangeOf(core.store, cur.id) : undefined;
    const idBase = strict ? held ?? allocateIdRange(core.store, cur.id, core.settings.idRanges) : undefined;
    return { row: { ...cur, status: 'starting' as ContainerStatus, state }, idBase, newRange: strict && held === undefined, portHolders };
  });
}

/**
 * Start a created or stopped container; resolves once its command has exec'd. With attach (a
 * container with a terminal or open stdin) the caller is connected to its attach socket before the
 * command runs, and gets the session.
 */
export async function startContainer(core: EngineCore, ref: string, options: { attach?: boolean } = {}): Promise<AttachSession | undefined> {
  const row = core.get(ref);
  if (isActive(row.status)) return; // already running: nothing to do, as docker start
  ensureRoom(core.settings.storageDir, 'start the container');
  const { row: claimed, idBase, newRange, portHolders } = claimStart(core, row);
  const paths = core.paths(row.id);
  if (newRange) writeMeta(paths.dir, claimed, idBase); // repair gives it this range back
  const log = containerLogger(row.id, row.name);
  let result;
  let session: Promise<AttachSession> | undefined;
  let shim: PendingShim | undefined;
  const attach = () => {
    session = connectAttach(paths.dir, row.name);
    session.catch(() => undefined); // awaited below, once the start's outcome is known
  };
  try {
    shim = prepareShim(paths.dir); // it starts up while the run is prepared
    const image = imageFor(core.store, row.config);
    const cgroups = await prepareRun(claimed, image, paths, idBase);
    // strict: the layers owned by the container's range, through idmapped mounts or shifted copies
    const idmap = idBase !== undefined && (image.kind === 'oci' || image.kind === 'rootfs') && layerIdmap().mode === 'idmapped';
    if (image.kind === 'oci') image.layers = await prepareImageRoot(core.settings.storageDir, image.layers ?? [], paths.upper, idBase ?? 0, idmap ? undefined : idBase);
    claimed.state.cgroups = cgroups;
    core.store.tx(() => core.store.updateContainer(row.id, 'starting', claimed.state));
    // a stopped container that published one of these ports keeps its rules until now: they go first
    for (const h of portHolders) await stopNetwork(core, h);
    const netnsPath = await startNetwork(core, claimed, paths);
    const plan = await buildPlan(claimed, image, paths, cgroups, netnsPath, { attachWait: options.attach, idBase, idmap });
    writeFileSync(paths.spec, encodeSpec(plan), { mode: 0o600 });
    result = await shim.go(options.attach ? attach : undefined);
  } catch (e) {
    shim?.cancel();
    await stopNetwork(core, claimed);
    rmSync(paths.spec, { force: true }); // a spec cut short by a full disk must never be launched
    core.store.tx(() => core.store.updateContainer(row.id, claimed.state.previous ?? 'created', { ...claimed.state, owner: undefined }));
    if (e instanceof EngineError) throw e;
    throw stateError(e, core.settings.storageDir, 'start the container') ?? new EngineError('RUNTIME_FAILED', `Cannot start container ${row.name}: ${(e as Error).message}`, { cause: e, context: { container: row.name } });
  }
  log.debug({ result }, 'supervisor launched');
  core.store.tx(() => {
    const state: ContainerState = { ...claimed.state, owner: undefined, shim: result.shim };
    if (result.ok) {
      state.init = result.init;
      state.startedAt = Date.now();
      state.bootId = bootId();
      core.store.updateContainer(row.id, 'running', state);
      recordEvent(core.store, 'start', row);
    } else {
      const reason = result.exitCode === 127 ? 'not-found' : result.exitCode === 126 ? 'not-executable' : 'setup-failed';
      Object.assign(state, { exitCode: result.exitCode, finishedAt: Date.now(), reason, error: result.message });
      core.store.updateContainer(row.id, 'exited', state);
      recordEvent(core.store, 'die', row, { exitCode: result.exitCode, reason: state.reason });
    }
  });
  if (!result.ok) await stopNetwork(core, claimed);
  if (!result.ok) {
    if (session) void session.then((s) => s.detach(), () => undefined);
    const code = result.exitCode === 127 ? 'COMMAND_NOT_FOUND' : result.exitCode === 126 ? 'COMMAND_NOT_EXECUTABLE' : 'RUNTIME_FAILED';
    const what = code === 'RUNTIME_FAILED' ? 'set up' : 'run the command of';
    throw new EngineError(code, `Cannot ${what} container ${row.name}: ${result.message}`, { context: { container: row.name, command: row.config.command.join(' ') } });
  }
  return session;
}

/** Remove a file that may not exist. Not rmSync: its first call loads Node's rimraf, about 5 ms on the loop. */
function unlinkIfThere(file: string): void {
  try {
    unlinkSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

/** Make the cgroups and directories one run needs (a strict container's owned by its range from idBase); returns the cgroup set. */
async function prepareRun(row: ContainerRow, image: ContainerImage, paths: ContainerPaths, idBase = STRICT_ID_BASE) {
  // the exits file is kept: it is the container's whole exit history, which system repair reads back
  // a restart-policy update of the last run is in the config now, so in the spec this start writes
  for (const f of [paths.state, paths.stopRequest, paths.spec, ...[RUN_FILES.events, RUN_FILES.health, RUN_FILES.cronTimes, RUN_FILES.restartPolicy].map((n) => `${paths.dir}/${n}`)]) unlinkIfThere(f);
  const host = probeHost();
  removeCgroups(row.state.cgroups); // a previous run's, now empty
  // rootless without a systemd user manager: no cgroup of the host is this user's to write (a limit was
  // refused at create), and the container's pid namespace is how stop finds every process
  const cgroups = host.rootless && host.cgroup.version !== 'v2' ? undefined : withBlkio(createCgroups(host.cgroup, row.id, cgroupLimitsFor(row.config.isolation, row.config.limits, host.cgroup)), row);
  if (row.config.storageSize) await mountQuota(paths.dir); // unmounted since the host restarted
  if (row.config.isolation !== 'minimal') {
    mkdirSync(paths.newroot, { recursive: true });
    if (image.kind === 'rootfs' || image.kind === 'oci') {
      mkdirSync(paths.upper, { recursive: true });
      mkdirSync(paths.work, { recursive: true });
    }
  }
  if (row.config.refreshApp && image.kind === 'path') {
    // each run runs the code now on disk: what the last run wrote beside it is gone (data volumes keep data)
    if (row.config.storageSize) for (const e of readdirSync(paths.app)) rmSync(join(paths.app, e), { recursive: true, force: true }); // a mount point stays
    else rmSync(paths.app, { recursive: true, force: true });
    await populateApp(image, paths.app);
  }
  closeContainerDir(paths.dir, row.config, idBase); // a directory made by an older version was open to others
  if (row.config.isolation === 'strict' && !rootlessHost()) {
    // container root is an unprivileged host uid: it must reach its directory (its group may), and own what it writes
    for (let d = dirname(paths.dir); d !== '/'; d = dirname(d))
      if ((statSync(d).mode & 0o001) === 0)
        throw new EngineError('HOST_UNSUPPORTED', `Strict containers run as an unprivileged host uid, which cannot pass through ${d}. Run \`chmod o+x ${d}\` or choose a --storage directory whose parents are searchable.`, { context: { path: d } });
    for (const p of [paths.app, paths.upper, paths.work]) if (existsSync(p)) await chownTree(p, idBase);
  }
  return cgroups;
}

/** Give a tree to uid and gid id, symlinks excluded (they are never followed); asynchronous, as a big app can be. */
async function chownTree(path: string, id: number): Promise<void> {
  await chown(path, id, id);
  if (!(await stat(path)).isDirectory()) return;
  for (const e of await readdir(path, { withFileTypes: true })) {
    const p = join(path, e.name);
    if (e.isDirectory()) await chownTree(p, id);
    else if (!e.isSymbolicLink()) await chown(p, id, id);
  }
}

/**
 * The row once a start under way in a live process has finished or failed. Until then that process
 * is making the container's files and cgroups, and a stop request written before its supervisor
 * runs would be lost: a stop, kill or removal acts on what the start leaves instead.
 */
export async function startSettled(core: EngineCore, row: ContainerRow, timeoutMs = 60_000): Promise<ContainerRow> {
  const settled = (r: ContainerRow) => (r.status !== 'starting' || !isAlive(r.state.owner) ? r : undefined);
  if (settled(row)) return row;
  // each look reconciles: a starter that died meanwhile is cleaned up after
  const after = await pollFor(() => settled(core.get(row.id)), timeoutMs);
  if (after) return after;
  throw new EngineError('TIMEOUT', `Container ${row.name} is still being started by process ${row.state.owner?.pid} after ${timeoutMs / 1000} s. Try again once it has started.`, {
    context: { container: row.name },
  });
}

/** Stop: the stop signal, then SIGKILL after the grace period; no process of the container remains. */
export async function stopContainer(core: EngineCore, ref: string, options: { timeout?: number; signal?: number } = {}): Promise<void> {
  const row = await startSettled(core, core.get(ref));
  if (!isActive(row.status)) return;
  await thaw(core, row).catch(() => undefined); // frozen, it could not act on its stop signal (the supervisor's kill thaws too)
  const grace = options.timeout ?? row.config.stopTimeout;
  await signalSupervisor(core, row, { signal: options.signal ?? row.config.stopSignal, graceMs: grace * 1000, reason: 'stopped' }, 'stop');
  if (!(await waitInactive(core, row.id, grace * 1000 + 5000))) {
    // the supervisor did not finish the job: do it ourselves
    const cur = core.store.getContainer(row.id)!;
    signalRef(cur.state.shim, 'SIGKILL');
    killOrphans(cur, cur.state.cgroups);
    await killCgroups(cur.state.cgroups);
    await waitInactive(core, row.id, 5000);
  }
  await stopNetwork(core, row);
}

/** Send a signal to the container's processes (no restart follows if it ends). */
export async function killContainer(core: EngineCore, ref: string, signal = 9): Promise<void> {
  const row = await startSettled(core, core.get(ref));
  if (!isActive(row.status)) throw invalidState(row.name, row.status, 'kill', 'Only a running container can be signalled.');
  await thaw(core, row).catch(() => undefined); // as docker: a paused container is thawed to take its signal
  await signalSupervisor(core, row, { signal, graceMs: -1, reason: 'killed' }, 'kill', { signal });
}

/** Hand the supervisor a stop request (signal, grace, reason) and wake it. */
async function signalSupervisor(core: EngineCore, row: ContainerRow, request: StopRequest, event: string, attrs: Record<string, unknown> = {}): Promise<void> {
  core.store.tx(() => {
    const cur = core.store.getContainer(row.id)!;
    core.store.updateContainer(cur.id, isActive(cur.status) && event === 'stop' ? 'stopping' : cur.status, { ...cur.state, userStopped: true });
    recordEvent(core.store, event, cur, attrs);
  });
  if (!requestStop(core.paths(row.id).dir, row.state.shim, request)) {
    // no supervisor to ask: reconcile will find it gone and clean up
    core.reconcile(core.store.getContainer(row.id)!);
  }
}

/**
 * Naps that end early when the supervisor replaces its state file, as it does on every change of
 * phase: a wait sees an exit within a fraction of a millisecond instead of at the next poll. The
 * polling stays, for writes the watch misses and a supervisor killed. Other files are ignored (below).
 */
function runDirNaps(dir: string) {
  let wake: (() => void) | undefined;
  let watcher: FSWatcher | undefined;
  try {
    // the container's log is in the same directory: waking (and reading the database) on each of its
    // writes burnt a core beside a chatty container. The exits file is appended just before the state
    // says exited, and a look between the two finds nothing to do, so only the state file wakes a wait
    watcher = watch(dir, { persistent: false }, (_event, name) => {
      if (name === RUN_FILES.state) wake?.();
    });
    watcher.on('error', () => undefined);
  } catch {
    /* no inotify here: polling alone */
  }
  return {
    nap: (ms: number) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => done(), ms);
        const done = () => {
          clearTimeout(timer);
          wake = undefined;
          resolve();
        };
        wake = done;
      }),
    close: () => watcher?.close(),
  };
}

/** Poll until the container is no longer active; false on timeout or abort. */
async function waitInactive(core: EngineCore, id: string, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  const naps = runDirNaps(core.paths(id).dir);
  try {
    for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
      const row = core.store.getContainer(id);
      if (!row) return true;
      const shimGone = !isAlive(row.state.shim);
      const phase = shimGone ? undefined : readShimState(core.paths(id).dir)?.phase;
      if (shimGone || phase === 'exited') {
        if (!isActive(core.reconcile(row).status)) return true;
      }
      if (Date.now() > end || signal?.aborted) return false;
      await naps.nap(delay);
    }
  } finally {
    naps.close();
  }
}

export interface WaitOptions {
  timeoutMs?: number;
  /** docker's next-exit: a container that is not running is waited for until it has run and stopped again */
  nextExit?: boolean;
  /** gives up (with TIMEOUT) when it fires: a caller that went away stops polling */
  signal?: AbortSignal;
}

/** Poll until the container has been started since finishedAt was recorded (or is running); false on timeout. */
async function waitStarted(core: EngineCore, id: string, finishedAt: number | undefined, end: number, signal?: AbortSignal): Promise<boolean> {
  for (let delay = 5; ; delay = Math.min(delay * 2, 50)) {
    const row = core.store.getContainer(id);
    if (!row || isActive(row.status) || row.state.finishedAt !== finishedAt) return true;
    if (Date.now() > end || signal?.aborted) return false;
    await sleep(delay);
  }
}

/** Wait until the container stops; resolves to its exit code. */
/** How the main process ended: its exit code, and whether the kernel's OOM killer ended it (docker's State.OOMKilled). */
export interface WaitResult {
  exitCode: number;
  oomKilled: boolean;
}

/** Wait until the container stops; its exit code. */
export async function waitContainer(core: EngineCore, ref: string, options: WaitOptions = {}): Promise<number> {
  return (await waitExit(core, ref, options)).exitCode;
}

/** Wait until the container stops; how its main process ended. */
export async function waitExit(core: EngineCore, ref: string, options: WaitOptions = {}): Promise<WaitResult> {
  const ended = (r: ContainerRow | undefined, id: string): WaitResult =>
    r ? { exitCode: r.state.exitCode ?? 0, oomKilled: r.state.oomKilled ?? false } : { exitCode: core.store.lastExitCode(id) ?? 0, oomKilled: core.store.lastExitWasOom(id) };
  // an active row is reconciled by the wait itself, once its supervisor has something to say
  let row = options.nextExit ? core.get(ref) : core.find(ref);
  const end = Date.now() + (options.timeoutMs ?? Number.MAX_SAFE_INTEGER);
  if (options.nextExit && !isActive(row.status)) {
    if (!(await waitStarted(core, row.id, row.state.finishedAt, end, options.signal)))
      throw new EngineError('TIMEOUT', `Container ${row.name} was not started ${options.signal?.aborted ? 'before the wait was aborted' : `within ${options.timeoutMs} ms`}.`, { context: { container: row.name } });
    const cur = core.store.getContainer(row.id);
    if (!cur) return ended(undefined, row.id); // ran, ended and was auto-removed between two looks
    row = cur;
  }
  if (row.status === 'created') return ended(row, row.id);
  if (isActive(row.status)) {
    const ok = await waitInactive(core, row.id, Math.max(0, end - Date.now()), options.signal);
    if (!ok) throw new EngineError('TIMEOUT', `Container ${row.name} is still running ${options.signal?.aborted ? 'when the wait was aborted' : `after ${options.timeoutMs} ms`}.`, { context: { container: row.name } });
  }
  // an auto-remove container may be gone by now: its last die event still has the code
  return ended(core.store.getContainer(row.id), row.id);
}
