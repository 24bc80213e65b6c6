// ContainerEngine: the one library every front end (CLI, service, embedding programs) drives.
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, normalize, resolve } from 'node:path';
import { ZodError } from 'zod';
import { ContainerConfigSchema, type ContainerConfig, type IsolationType } from '../config/schema.js';
import { loadSettings, type Settings } from '../config/settings.js';
import { EngineError } from '../errors.js';
import { listImages, populateApp, resolveImage, type ContainerImage } from '../images/store.js';
import { importImage, removeImage } from '../images/importer.js';
import { containerLogger } from '../logger.js';
import { readLogs, type LogOptions, type LogRecord } from '../monitor/logs.js';
import { sampleStats, type StatsSample } from '../monitor/stats.js';
import { createCgroups, killCgroups, removeCgroups } from '../runtime/cgroups.js';
import { containerPaths, type ContainerPaths } from '../runtime/layout.js';
import { buildPlan, encodeSpec, resolveArgv, STRICT_ID_BASE } from '../runtime/plan.js';
import { isAlive, selfRef, signalRef } from '../runtime/proc.js';
import { probeHost, type HostInfo } from '../runtime/probe.js';
import { checkSeccomp } from '../runtime/seccomp.js';
import { freePort } from '../runtime/ports.js';
import { launchShim, readShimState, shimPath } from '../runtime/supervisor.js';
import type { ResultPromise } from 'execa';
import { splitPath, statIn, tarIn, tarOut } from './archive.js';
import { StateStore } from '../state/store.js';
import type { ContainerRow, ContainerState, ContainerStatus, EventRecord, RunRecord } from '../state/types.js';
import { toInspect, type InspectResult } from './inspect.js';
import { generateName, isValidRef, newId, validateName } from './names.js';
import { bootId, killOrphans, reconcileRow } from './reconcile.js';
import { canRemove, canStart, invalidState, isActive } from './status.js';

export interface EngineOptions extends Partial<Settings> {}

const FORBIDDEN_TARGETS = ['/', '/proc', '/sys', '/dev', '/app'];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A handle on one container; every method goes through the engine, so state stays true. */
export class Container {
  constructor(
    readonly engine: ContainerEngine,
    readonly id: string,
    readonly name: string,
  ) {}
  /** Start the container. */
  start(): Promise<void> {
    return this.engine.start(this.id);
  }
  /** Stop it: its stop signal, then SIGKILL after timeout seconds. */
  stop(timeout?: number): Promise<void> {
    return this.engine.stop(this.id, { timeout });
  }
  /** Send a signal. */
  kill(signal = 9): Promise<void> {
    return this.engine.kill(this.id, signal);
  }
  /** Stop then start. */
  restart(timeout?: number): Promise<void> {
    return this.engine.restart(this.id, { timeout });
  }
  /** Remove it (force stops it first). */
  remove(force = false): Promise<void> {
    return this.engine.remove(this.id, { force });
  }
  /** Wait for it to stop; resolves to its exit code. */
  wait(): Promise<number> {
    return this.engine.wait(this.id);
  }
  /** docker-shaped description. */
  inspect(): Promise<InspectResult> {
    return this.engine.inspect(this.id);
  }
  /** Its log records. */
  logs(options?: LogOptions): AsyncGenerator<LogRecord> {
    return this.engine.logs(this.id, options);
  }
}

/** The container engine: state in SQLite, one supervisor per running container, no daemon. */
export class ContainerEngine {
  readonly settings: Settings;
  readonly store: StateStore;

  constructor(options: EngineOptions = {}) {
    this.settings = { ...loadSettings(process.env, options) };
    // searchable but not listable: strict containers' unprivileged root must reach its own directory
    mkdirSync(join(this.settings.storageDir, 'containers'), { recursive: true, mode: 0o711 });
    for (const d of [this.settings.storageDir, join(this.settings.storageDir, 'containers')]) if ((statSync(d).mode & 0o777) === 0o700) chmodSync(d, 0o711);
    this.store = StateStore.open(join(this.settings.storageDir, 'state.db'));
  }

  /** What this host supports. */
  info(): HostInfo & { storageDir: string; defaultIsolation: IsolationType; schemaVersion: number } {
    return { ...probeHost(), storageDir: this.settings.storageDir, defaultIsolation: this.settings.isolation, schemaVersion: this.store.schemaVersion() };
  }

  paths(id: string): ContainerPaths {
    return containerPaths(this.settings.storageDir, id);
  }

  private event(type: string, row: { id: string; name: string }, attrs: Record<string, unknown> = {}): void {
    this.store.insertEvent({ time: Date.now(), type, containerId: row.id, name: row.name, attrs });
  }

  /** Find a container by name, full id or unique id prefix; reconciled before it is returned. */
  get(ref: string): ContainerRow {
    if (!isValidRef(ref)) validateName(ref);
    let row = this.store.getContainer(ref);
    if (!row && /^[0-9a-f]{3,63}$/.test(ref)) {
      const found = this.store.findByIdPrefix(ref);
      if (found.length > 1) throw new EngineError('AMBIGUOUS_ID', `The id prefix ${ref} matches more than one container. Give more of the id.`, { context: { container: ref } });
      row = found[0];
    }
    if (!row) throw new EngineError('NO_SUCH_CONTAINER', `No such container: ${ref}. Run \`codex32 ps -a\` to list containers.`, { context: { container: ref } });
    return this.reconcile(row);
  }

  /** Bring a row up to date with its supervisor, recording exits and events. */
  reconcile(row: ContainerRow): ContainerRow {
    if (!isActive(row.status)) return row;
    return this.store.tx(() => {
      const cur = this.store.getContainer(row.id);
      if (!cur) throw new EngineError('NO_SUCH_CONTAINER', `No such container: ${row.name}.`, { context: { container: row.name } });
      const { row: next, events } = reconcileRow(this.store, cur, this.paths(cur.id).dir);
      for (const e of events) this.store.insertEvent({ time: e.time ?? Date.now(), type: e.type, containerId: next.id, name: next.name, attrs: e.attrs });
      return next;
    });
  }

  /** Validate a config and create the container (not started). */
  async create(input: ContainerConfig, options: { cwd?: string } = {}): Promise<Container> {
    let cfg;
    try {
      cfg = ContainerConfigSchema.parse(input);
    } catch (e) {
      if (e instanceof ZodError) {
        const i = e.issues[0];
        throw new EngineError('INVALID_CONFIG', `Expected \`${i.path.join('.') || 'config'}\` to be valid: ${i.message}`, { cause: e });
      }
      throw e;
    }
    const name = cfg.name ? validateName(cfg.name) : generateName();
    const isolation = cfg.isolation ?? this.settings.isolation;
    const host = probeHost();
    const level = host.levels[isolation];
    if (!level.supported)
      throw new EngineError('HOST_UNSUPPORTED', `This host cannot give ${isolation} isolation: missing ${level.missing.join('; ')}. Run \`codex32 info\`, or choose --isolation minimal for trusted code.`, {
        context: { isolation },
      });
    this.checkLimits(isolation, cfg.limits, cfg.user?.uid ?? 0, host);
    checkSeccomp(isolation, cfg.seccomp);
    const volumes = this.checkVolumes(isolation, cfg.volumes, options.cwd);
    const image = resolveImage(this.store, cfg.image, options.cwd);
    if (image.kind === 'rootfs' && isolation === 'minimal')
      throw new EngineError('INVALID_CONFIG', `The image ${cfg.image} is a root filesystem; minimal isolation runs on the host's filesystem. Use --isolation standard or strict.`);
    if (cfg.workdir && isolation === 'minimal' && !existsSync(cfg.workdir))
      throw new EngineError('INVALID_CONFIG', `Expected \`-w\` to be an existing host directory under minimal isolation, got \`${cfg.workdir}\``);

    if (cfg.port !== undefined && isolation === 'strict')
      throw new EngineError('INVALID_CONFIG', 'A port cannot be given to a strict container: it has its own network namespace with only lo. Use --isolation standard, which shares the host network.');
    const port = cfg.port === 'auto' ? await freePort() : cfg.port;
    const env = port !== undefined ? { ...cfg.env, PORT: String(port) } : cfg.env;

    const id = newId();
    const paths = this.paths(id);
    const config = { ...cfg, name, isolation, volumes, env, port, image: image.kind === 'path' ? image.source! : cfg.image };
    const row: ContainerRow = {
      id,
      name,
      status: 'created',
      createdAt: Date.now(),
      config,
      state: { restartCount: 0, runBase: 0, restartBase: 0 },
    };
    resolveArgv(row, image, paths); // a command that cannot be inferred is refused now, not at start
    try {
      mkdirSync(paths.dir, { recursive: false, mode: 0o711 });
      populateApp(image, paths.app);
      mkdirSync(paths.etc, { mode: 0o755 });
      writeFileSync(`${paths.etc}/hostname`, `${cfg.hostname ?? name}\n`);
      this.store.tx(() => {
        this.store.insertContainer(row);
        this.event('create', row, { image: cfg.image, isolation });
      });
    } catch (e) {
      rmSync(paths.dir, { recursive: true, force: true });
      if (e instanceof EngineError) throw e;
      throw new EngineError('RUNTIME_FAILED', `Cannot create container ${name}: ${(e as Error).message}`, { cause: e, context: { container: name } });
    }
    return new Container(this, id, name);
  }

  private checkLimits(isolation: IsolationType, limits: ContainerConfig['limits'] & object, uid: number, host: HostInfo): void {
    const needCgroup: Array<'memory' | 'pids' | 'cpu'> = [];
    if (isolation !== 'minimal') {
      if (limits.memory) needCgroup.push('memory');
      if (limits.pids) needCgroup.push('pids');
    } else if (limits.pids && uid === 0) {
      needCgroup.push('pids'); // RLIMIT_NPROC does not bind root: only a pids cgroup really limits it
    }
    if (limits.cpus && isolation !== 'minimal') needCgroup.push('cpu'); // minimal falls back to the supervisor's throttle
    const missing = needCgroup.filter((c) => !host.cgroup.controllers[c]);
    if (missing.length)
      throw new EngineError('HOST_UNSUPPORTED', `This host has no usable cgroup ${missing.join(', ')} controller, which the requested limit needs at ${isolation} isolation. Run \`codex32 info\`.`);
    if (limits.nofile) {
      const hard = currentHardNofile();
      if (hard !== undefined && limits.nofile > hard)
        throw new EngineError('INVALID_CONFIG', `Expected \`--nofile\` to be at most ${hard} (this host's hard limit, which codex32 cannot raise), got \`${limits.nofile}\``);
    }
    if (limits.memory !== undefined && limits.memory < 4 * 1024 * 1024)
      throw new EngineError('INVALID_CONFIG', `Expected \`--memory\` to be at least 4m, got \`${limits.memory}\` bytes`);
  }

  private checkVolumes(isolation: IsolationType, volumes: Array<{ source: string; target: string; readOnly: boolean }>, cwd = process.cwd()) {
    if (volumes.length && isolation === 'minimal')
      throw new EngineError('INVALID_CONFIG', 'Volumes need a mount namespace: use --isolation standard or strict (minimal sees the host filesystem already).');
    const seen = new Set<string>();
    return volumes.map((v) => {
      const target = normalize(v.target).replace(/\/+$/, '') || '/';
      if (!isAbsolute(v.target) || v.target.split('/').includes('..'))
        throw new EngineError('INVALID_CONFIG', `Expected the volume destination to be an absolute path without .., got \`${v.target}\``);
      if (FORBIDDEN_TARGETS.some((f) => target === f || (f !== '/' && f !== '/app' && target.startsWith(f + '/'))))
        throw new EngineError('INVALID_CONFIG', `Expected the volume destination to be outside /proc, /sys and /dev and not / or /app, got \`${v.target}\``);
      if (seen.has(target)) throw new EngineError('INVALID_CONFIG', `Expected each volume destination once, got \`${v.target}\` twice`);
      seen.add(target);
      const source = resolve(cwd, v.source);
      if (!existsSync(source)) throw new EngineError('INVALID_CONFIG', `Expected the volume source to exist on the host, got \`${v.source}\``);
      return { source, target, readOnly: v.readOnly };
    });
  }

  /** Start a created or stopped container; resolves once its command has exec'd. */
  async start(ref: string): Promise<void> {
    const row = this.get(ref);
    if (isActive(row.status)) return; // already running: nothing to do, as docker start
    const claimed = this.store.tx(() => {
      const cur = this.store.getContainer(row.id)!;
      if (!canStart(cur.status)) throw invalidState(cur.name, cur.status, 'start', 'Wait for it to finish, or stop it first.');
      const state: ContainerState = {
        ...cur.state,
        owner: selfRef(),
        previous: cur.status,
        shim: undefined,
        init: undefined,
        userStopped: false,
        error: undefined,
        runBase: this.store.lastRun(cur.id),
        restartBase: cur.state.restartCount,
        shimEvents: 0,
      };
      this.store.updateContainer(cur.id, 'starting', state);
      return { ...cur, status: 'starting' as ContainerStatus, state };
    });
    const paths = this.paths(row.id);
    const log = containerLogger(row.id, row.name);
    let result;
    try {
      const image = resolveImage(this.store, row.config.image);
      const cgroups = this.prepareRun(claimed, image, paths);
      claimed.state.cgroups = cgroups;
      this.store.tx(() => this.store.updateContainer(row.id, 'starting', claimed.state));
      const plan = buildPlan(claimed, image, paths, cgroups);
      writeFileSync(paths.spec, encodeSpec(plan), { mode: 0o600 });
      result = await launchShim(paths.dir);
    } catch (e) {
      this.store.tx(() => this.store.updateContainer(row.id, claimed.state.previous ?? 'created', { ...claimed.state, owner: undefined }));
      if (e instanceof EngineError) throw e;
      throw new EngineError('RUNTIME_FAILED', `Cannot start container ${row.name}: ${(e as Error).message}`, { cause: e, context: { container: row.name } });
    }
    log.debug({ result }, 'supervisor launched');
    this.store.tx(() => {
      const state: ContainerState = { ...claimed.state, owner: undefined, shim: result.shim };
      if (result.ok) {
        state.init = result.init;
        state.startedAt = Date.now();
        state.bootId = bootId();
        this.store.updateContainer(row.id, 'running', state);
        this.event('start', row);
      } else {
        const reason = result.exitCode === 127 ? 'not-found' : result.exitCode === 126 ? 'not-executable' : 'setup-failed';
        Object.assign(state, { exitCode: result.exitCode, finishedAt: Date.now(), reason, error: result.message });
        this.store.updateContainer(row.id, 'exited', state);
        this.event('die', row, { exitCode: result.exitCode, reason: state.reason });
      }
    });
    if (!result.ok) {
      const code = result.exitCode === 127 ? 'COMMAND_NOT_FOUND' : result.exitCode === 126 ? 'COMMAND_NOT_EXECUTABLE' : 'RUNTIME_FAILED';
      const what = code === 'RUNTIME_FAILED' ? 'set up' : 'run the command of';
      throw new EngineError(code, `Cannot ${what} container ${row.name}: ${result.message}`, { context: { container: row.name, command: row.config.command.join(' ') } });
    }
  }

  /** Make the cgroups and directories one run needs; returns the cgroup set. */
  private prepareRun(row: ContainerRow, image: ContainerImage, paths: ContainerPaths) {
    for (const f of [paths.state, paths.stopRequest, paths.exits, paths.spec, `${paths.dir}/events`, `${paths.dir}/health`]) rmSync(f, { force: true });
    const host = probeHost();
    removeCgroups(row.state.cgroups); // a previous run's, now empty
    // minimal takes what the host has: memory is an rlimit there and --cpus falls back to the throttle
    const limits = { ...row.config.limits };
    if (row.config.isolation === 'minimal')
      for (const [k, ctl] of [['memory', 'memory'], ['cpus', 'cpu'], ['pids', 'pids']] as const) if (!host.cgroup.controllers[ctl]) delete limits[k];
    const cgroups = createCgroups(host.cgroup, row.id, limits);
    if (row.config.isolation !== 'minimal') {
      mkdirSync(paths.newroot, { recursive: true });
      if (image.kind === 'rootfs') {
        mkdirSync(paths.upper, { recursive: true });
        mkdirSync(paths.work, { recursive: true });
      }
    }
    if (row.config.isolation === 'strict') {
      // container root is an unprivileged host uid: it must reach its directory, and own what it writes
      for (let d = paths.dir; d !== '/'; d = dirname(d))
        if ((statSync(d).mode & 0o001) === 0)
          throw new EngineError('HOST_UNSUPPORTED', `Strict containers run as an unprivileged host uid, which cannot pass through ${d}. Run \`chmod o+x ${d}\` or choose a --storage directory whose parents are searchable.`, { context: { path: d } });
      for (const p of [paths.app, paths.upper, paths.work]) if (existsSync(p)) chownTree(p, STRICT_ID_BASE);
    }
    return cgroups;
  }

  /** Stop: the stop signal, then SIGKILL after the grace period; no process of the container remains. */
  async stop(ref: string, options: { timeout?: number; signal?: number } = {}): Promise<void> {
    const row = this.get(ref);
    if (!isActive(row.status)) return;
    const grace = options.timeout ?? row.config.stopTimeout;
    await this.signalSupervisor(row, `${options.signal ?? row.config.stopSignal} ${Math.round(grace * 1000)} stopped`, 'stop');
    if (!(await this.waitInactive(row.id, grace * 1000 + 5000))) {
      // the supervisor did not finish the job: do it ourselves
      const cur = this.store.getContainer(row.id)!;
      signalRef(cur.state.shim, 'SIGKILL');
      killOrphans(cur, cur.state.cgroups);
      await killCgroups(cur.state.cgroups);
      await this.waitInactive(row.id, 5000);
    }
  }

  /** Send a signal to the container's processes (no restart follows if it ends). */
  async kill(ref: string, signal = 9): Promise<void> {
    const row = this.get(ref);
    if (!isActive(row.status)) throw invalidState(row.name, row.status, 'kill', 'Only a running container can be signalled.');
    await this.signalSupervisor(row, `${signal} -1 killed`, 'kill', { signal });
  }

  private async signalSupervisor(row: ContainerRow, request: string, event: string, attrs: Record<string, unknown> = {}): Promise<void> {
    const paths = this.paths(row.id);
    writeFileSync(paths.stopRequest + '.tmp', request);
    renameSync(paths.stopRequest + '.tmp', paths.stopRequest);
    this.store.tx(() => {
      const cur = this.store.getContainer(row.id)!;
      this.store.updateContainer(cur.id, isActive(cur.status) && event === 'stop' ? 'stopping' : cur.status, { ...cur.state, userStopped: true });
      this.event(event, cur, attrs);
    });
    if (!signalRef(row.state.shim, 'SIGUSR1')) {
      // no supervisor to ask: reconcile will find it gone and clean up
      this.reconcile(this.store.getContainer(row.id)!);
    }
  }

  /** Poll until the container is no longer active; false on timeout. */
  private async waitInactive(id: string, timeoutMs: number): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    let delay = 1;
    for (;;) {
      const row = this.store.getContainer(id);
      if (!row) return true;
      const shimGone = !isAlive(row.state.shim);
      const phase = shimGone ? undefined : readShimState(this.paths(id).dir)?.phase;
      if (shimGone || phase === 'exited') {
        if (!isActive(this.reconcile(row).status)) return true;
      }
      if (Date.now() > end) return false;
      await sleep(delay);
      delay = Math.min(delay * 2, 50);
    }
  }

  /** Stop (if running) and start again. */
  async restart(ref: string, options: { timeout?: number } = {}): Promise<void> {
    await this.stop(ref, options);
    await this.start(ref);
    this.event('restart', this.get(ref), { manual: true });
  }

  /** Wait until the container stops; resolves to its exit code. */
  async wait(ref: string, options: { timeoutMs?: number } = {}): Promise<number> {
    const row = this.get(ref);
    if (row.status === 'created') return row.state.exitCode ?? 0;
    if (isActive(row.status)) {
      const ok = await this.waitInactive(row.id, options.timeoutMs ?? Number.MAX_SAFE_INTEGER);
      if (!ok) throw new EngineError('TIMEOUT', `Container ${row.name} is still running after ${options.timeoutMs} ms.`, { context: { container: row.name } });
    }
    const done = this.store.getContainer(row.id);
    return done?.state.exitCode ?? 0;
  }

  /** Remove a container and everything it has on disk; force stops it first. */
  async remove(ref: string, options: { force?: boolean } = {}): Promise<void> {
    let row = this.get(ref);
    if (!canRemove(row.status)) {
      if (!options.force) throw invalidState(row.name, row.status, 'remove', 'Stop it first, or use `rm -f`.');
      await this.stop(row.id, { timeout: 0 });
      row = this.get(row.id);
    }
    this.store.tx(() => {
      const cur = this.store.getContainer(row.id);
      if (cur) this.store.updateContainer(cur.id, 'removing', { ...cur.state, owner: selfRef() });
    });
    killOrphans(row, row.state.cgroups);
    await killCgroups(row.state.cgroups);
    removeCgroups(row.state.cgroups);
    rmSync(this.paths(row.id).dir, { recursive: true, force: true });
    this.store.tx(() => {
      this.store.deleteContainer(row.id);
      this.event('remove', row);
    });
  }

  /** All containers (reconciled, lost supervisors repaired per policy); only active ones unless all. */
  async list(options: { all?: boolean } = {}): Promise<ContainerRow[]> {
    const rows = this.store.listContainers(options.all ? undefined : ['starting', 'running', 'restarting', 'stopping']);
    const out: ContainerRow[] = [];
    for (const r of rows) out.push(isActive(r.status) ? await this.repair(this.reconcile(r)) : r);
    return options.all ? out : out.filter((r) => isActive(r.status));
  }

  /** True when the restart policy asks for this stopped container to run again. */
  wantsRestart(row: ContainerRow): boolean {
    const p = row.config.restart;
    if (p.name === 'always') return true;
    if (p.name === 'unless-stopped') return !row.state.userStopped;
    if (p.name === 'on-failure') return (row.state.exitCode ?? 0) !== 0 && (p.maxRetries === 0 || row.state.restartCount < p.maxRetries);
    return false;
  }

  /**
   * A container whose supervisor was killed (same boot) is started again when its policy says so:
   * the supervisor would have restarted it, so the next engine call does.
   */
  private async repair(row: ContainerRow): Promise<ContainerRow> {
    if (row.status !== 'dead' || row.state.reason !== 'supervisor-lost' || !this.wantsRestart(row)) return row;
    try {
      await this.start(row.id);
      this.store.tx(() => {
        const cur = this.store.getContainer(row.id)!;
        this.store.updateContainer(cur.id, cur.status, { ...cur.state, restartCount: cur.state.restartCount + 1, restartBase: cur.state.restartBase + 1 });
        this.event('restart', cur, { reason: 'supervisor-lost' });
      });
    } catch {
      /* another process repaired it first, or it cannot start: the row says which */
    }
    return this.get(row.id);
  }

  /** Start every stopped container whose policy says it should run (after a host restart); returns their names. */
  async startAll(): Promise<string[]> {
    const started: string[] = [];
    for (const row of await this.list({ all: true })) {
      if ((row.status === 'exited' || row.status === 'dead') && this.wantsRestart(row)) {
        await this.start(row.id);
        started.push(row.name);
      }
    }
    return started;
  }

  /** docker-shaped description of a container. */
  async inspect(ref: string): Promise<InspectResult> {
    const row = await this.repair(this.get(ref));
    const paths = this.paths(row.id);
    let argv: string[] = row.config.command;
    try {
      argv = resolveArgv(row, resolveImage(this.store, row.config.image), paths);
    } catch {
      /* image gone: show the command as configured */
    }
    return toInspect(row, paths, argv, this.store.listRuns(row.id), readHealthLog(paths.dir));
  }

  /** Run history of a container. */
  runs(ref: string): RunRecord[] {
    return this.store.listRuns(this.get(ref).id);
  }

  /** Log records of a container; follow ends when the container stops. */
  logs(ref: string, options: LogOptions = {}): AsyncGenerator<LogRecord> {
    const row = this.get(ref);
    const paths = this.paths(row.id);
    const done = options.done ?? (() => !isActive(this.get(row.id).status));
    return readLogs(paths.log, { ...options, done: options.follow ? throttle(done, 50) : done });
  }

  /** One usage sample of the given running containers (all running ones when none are named). */
  async stats(refs?: string[]): Promise<StatsSample[]> {
    const rows = refs ? refs.map((r) => this.get(r)) : await this.list();
    return sampleStats(rows.filter((r) => r.status === 'running'));
  }

  /** Events after a time or id. */
  events(options: { since?: number; until?: number; afterId?: number } = {}): EventRecord[] {
    return this.store.listEvents(options);
  }

  /** Remove stopped containers, and leftovers of interrupted creates; returns the names removed. */
  async prune(): Promise<string[]> {
    const removed: string[] = [];
    for (const row of await this.list({ all: true })) {
      if (row.status === 'exited' || row.status === 'dead' || row.status === 'created' || (row.status === 'removing' && !isAlive(row.state.owner))) {
        await this.remove(row.id, { force: true }).catch(() => undefined);
        removed.push(row.name);
      }
    }
    const known = new Set(this.store.listContainers().map((r) => r.id));
    const dir = join(this.settings.storageDir, 'containers');
    for (const d of readdirSync(dir)) {
      // a directory with no row is what a create killed midway leaves; give in-flight creates a minute
      if (!known.has(d) && Date.now() - statSync(join(dir, d)).mtimeMs > 60_000) rmSync(join(dir, d), { recursive: true, force: true });
    }
    return removed;
  }

  /**
   * Run a command inside a running container exactly like its main process: its namespaces, cgroups,
   * rlimits, capabilities and no_new_privs. Only the host's shim does the entering.
   */
  async exec(
    ref: string,
    command: string[],
    options: { env?: Record<string, string>; workdir?: string; stdio?: 'inherit' | 'pipe' } = {},
  ): Promise<Awaited<ResultPromise<{ reject: false; stdio: 'inherit' | 'pipe' }>>> {
    const row = this.get(ref);
    if (row.status !== 'running') throw invalidState(row.name, row.status, 'exec in', 'Start it first.');
    if (!command.length) throw new EngineError('INVALID_CONFIG', 'Expected a command to exec, got nothing');
    const args = ['exec', this.paths(row.id).dir];
    for (const [k, v] of Object.entries(options.env ?? {})) args.push('-e', `${k}=${v}`);
    if (options.workdir) args.push('-w', options.workdir);
    this.store.tx(() => this.event('exec', row, { command: command.join(' ') }));
    const { execa } = await import('execa');
    return execa(shimPath(), [...args, '--', ...command], { reject: false, stdio: options.stdio ?? 'pipe' });
  }

  /** A tar stream of path inside the container (running or stopped); its basename is the top entry. */
  async copyFrom(ref: string, path: string) {
    const row = this.get(ref);
    const { dir, entry } = splitPath(path);
    return tarOut(shimPath(), this.paths(row.id).dir, dir, [entry]);
  }

  /**
   * Copy a tar archive file into the container at path, with docker's rules: into path if it is a
   * directory, else as path itself (the archive's single top entry renamed by the caller).
   */
  async copyTo(ref: string, dir: string, archive: string): Promise<void> {
    const row = this.get(ref);
    await tarIn(shimPath(), this.paths(row.id).dir, dir, archive);
  }

  /** Whether path inside the container is a directory, something else, or missing. */
  async statPath(ref: string, path: string): Promise<'dir' | 'other' | 'missing'> {
    const row = this.get(ref);
    return statIn(shimPath(), this.paths(row.id).dir, path);
  }

  /** A tar stream of the container's own filesystem: the whole root of a rootfs image, else /app. */
  async exportFs(ref: string) {
    const row = this.get(ref);
    const image = resolveImage(this.store, row.config.image);
    const dir = this.paths(row.id).dir;
    if (row.config.isolation === 'minimal') return tarOut(shimPath(), dir, '/', ['*']);
    return image.kind === 'rootfs' ? tarOut(shimPath(), dir, '/', ['*']) : tarOut(shimPath(), dir, '/', ['app']);
  }

  /** Import a root filesystem tarball as a named image. */
  importImage(file: string, name: string) {
    return importImage(this.store, this.settings.storageDir, resolve(file), name);
  }

  /** The built-in and imported images. */
  images() {
    return listImages(this.store);
  }

  /** Remove an imported image no container uses. */
  removeImage(name: string): void {
    removeImage(this.store, this.settings.storageDir, name);
  }

  /** Close the database; containers keep running (daemonless). */
  close(): void {
    this.store.close();
  }
}

/** The supervisor's last five health check results. */
function readHealthLog(dir: string): Array<{ Start: string; ExitCode: number; Output: string }> {
  try {
    return readFileSync(`${dir}/health`, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [at, code, ...out] = l.split(' ');
        return { Start: new Date(Number(at)).toISOString(), ExitCode: Number(code), Output: out.join(' ') };
      });
  } catch {
    return [];
  }
}

function throttle(fn: () => boolean, ms: number): () => boolean {
  let last = 0;
  let value = false;
  return () => {
    if (Date.now() - last >= ms) {
      value = fn();
      last = Date.now();
    }
    return value;
  };
}

function chownTree(path: string, id: number): void {
  chownSync(path, id, id);
  const st = statSync(path);
  if (!st.isDirectory()) return;
  for (const e of readdirSync(path, { withFileTypes: true })) {
    const p = join(path, e.name);
    if (e.isDirectory()) chownTree(p, id);
    else if (!e.isSymbolicLink()) chownSync(p, id, id);
  }
}

let hardNofile: number | undefined | null = null;
function currentHardNofile(): number | undefined {
  if (hardNofile !== null) return hardNofile;
  try {
    const m = /Max open files\s+\S+\s+(\S+)/.exec(readFileSync('/proc/self/limits', 'utf8'));
    hardNofile = m && m[1] !== 'unlimited' ? Number(m[1]) : undefined;
  } catch {
    hardNofile = undefined;
  }
  return hardNofile;
}

