// Supervised host processes (LOCAL_PROCESS): no isolation, but the same supervisor and launch path as a container.
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { rm } from '../lazy.js';
import { dirname, join, resolve } from 'node:path';
import { schemas, type HealthCheck, type KeepPromises, type ResourceLimits, type RestartPolicy } from '../config/schema.js';
import { EngineError } from '../errors.js';
import { inferCommand, resolveImage } from '../images/store.js';
import { readLogs, type LogOptions, type LogRecord } from '../monitor/logs.js';
import { sampleStats, type StatsSample } from '../monitor/stats.js';
import { encodeSpecEntries, RUN_FILES } from '../runtime/contract.js';
import { freePort } from '../runtime/ports.js';
import { isAlive, signalRef } from '../runtime/proc.js';
import { processPlanEntries } from '../runtime/process-plan.js';
import { launchShim } from '../runtime/shim-launch.js';
import { readExits, readShimState, requestStop, type ShimState } from '../runtime/supervisor.js';
import type { ProcRef, RunRecord } from '../state/types.js';
import { sleep, type EngineCore } from './core.js';

export interface ProcessConfig {
  /** a script or directory on the host: the process runs there */
  source: string;
  /** the command; inferred from the source (shebang, extension) when empty */
  command: string[];
  /** the whole environment the process gets (nothing else is inherited) */
  env: Record<string, string>;
  /** a loopback port given as PORT ('auto' picks a free one) */
  port?: number | 'auto';
  restart: Pick<RestartPolicy, 'name' | 'maxRetries'> & Partial<RestartPolicy>;
  health?: Partial<HealthCheck> & { cmd: string[] };
  /** sent once to the main process on stop; SIGKILL follows after stopTimeout seconds */
  stopSignal?: number;
  stopTimeout?: number;
  /** the log rotates past logMaxSize bytes, logMaxFiles files kept (the live one included) */
  logMaxSize?: number;
  logMaxFiles?: number;
  /** memory, cron and watch restarts and log copies, kept by the supervisor */
  keep?: KeepPromises;
}

/** What the supervisor of a process reports: liveness, its phase, and the last recorded exit. */
export interface ProcessView {
  alive: boolean;
  shim?: ShimState;
  last?: RunRecord;
  exists: boolean;
  /** how many runs ended for each reason, over every supervisor of this run directory */
  endedBy?: Record<string, number>;
}

/** Host processes under the per-container supervisor, one run directory each under storage/bots/NAME. */
export class SupervisedProcesses {
  constructor(private readonly core: EngineCore) {}

  /** The run directory of the named process. */
  dir(name: string): string {
    return join(this.core.settings.storageDir, 'bots', name);
  }

  /**
   * Launch name's process detached under its supervisor; resolves once the command has exec'd or
   * failed to. A failure is returned beside the supervisor's identity so the caller records both.
   */
  async launch(name: string, cfg: ProcessConfig): Promise<{ shim?: ProcRef; port?: number; failure?: EngineError }> {
    const dir = this.dir(name);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const image = resolveImage(this.core.store, resolve(cfg.source));
    if (image.kind !== 'path') throw new EngineError('INVALID_CONFIG', `Invalid bot ${name}: a LOCAL_PROCESS bot needs a script or directory path, got \`${cfg.source}\``);
    // the process runs where the bot lives: a script's directory, or the directory itself
    const home = statSync(image.source!).isDirectory() ? image.source! : dirname(image.source!);
    const argv = cfg.command.length ? cfg.command : inferCommand(image, home);
    if (!argv) throw new EngineError('INVALID_CONFIG', `Invalid bot ${name}: no file to run in ${cfg.source}; give args`);
    const port = cfg.port === 'auto' ? await freePort() : cfg.port;
    const env = { ...cfg.env, ...(port ? { PORT: String(port) } : {}) };
    const health = cfg.health && schemas().HealthCheckSchema.parse(cfg.health);
    const entries = processPlanEntries({
      argv, cwd: home, env, log: join(dir, RUN_FILES.log), restart: cfg.restart, health, runBase: readExits(dir).at(-1)?.run ?? 0,
      stopSignal: cfg.stopSignal, stopTimeout: cfg.stopTimeout, logMaxSize: cfg.logMaxSize, logMaxFiles: cfg.logMaxFiles, keep: cfg.keep, runDir: dir,
    });
    for (const f of [RUN_FILES.state, RUN_FILES.stopRequest, RUN_FILES.events, RUN_FILES.health, RUN_FILES.cronTimes, RUN_FILES.restartPolicy]) rmSync(join(dir, f), { force: true });
    writeFileSync(join(dir, RUN_FILES.spec), encodeSpecEntries(entries), { mode: 0o600 });
    const result = await launchShim(dir);
    if (result.ok) {
      // the supervisor writes its state file just after its reply: wait for it, so status says running at once
      for (let delay = 1, waited = 0; !readShimState(dir) && isAlive(result.shim) && waited < 5000; waited += delay, delay = Math.min(delay * 2, 50)) await sleep(delay);
      return { shim: result.shim, port };
    }
    const failure = new EngineError(result.exitCode === 127 ? 'COMMAND_NOT_FOUND' : 'RUNTIME_FAILED', `Cannot start bot ${name}: ${result.message || 'the supervisor failed'}`);
    return { shim: result.shim, port, failure };
  }

  /** True while the supervisor shim names is alive. */
  alive(shim: ProcRef | undefined): boolean {
    return isAlive(shim);
  }

  /** Ask the supervisor to stop the process (the stop signal, SIGKILL after the grace period); waits until it is gone. */
  async stop(name: string, shim: ProcRef | undefined, options: { signal?: number; timeout?: number } = {}): Promise<void> {
    if (!isAlive(shim)) return;
    const dir = this.dir(name);
    const graceMs = Math.round((options.timeout ?? 10) * 1000);
    requestStop(dir, shim, { signal: options.signal ?? 15, graceMs, reason: 'stopped' });
    // the supervisor kills after the grace period; past that and 5 s more, it is killed itself
    for (const end = Date.now() + graceMs + 5000; isAlive(shim) && Date.now() < end; ) await sleep(50);
    if (isAlive(shim)) signalRef(shim, 'SIGKILL');
  }

  /** Liveness, supervisor state and last exit of the named process. */
  view(name: string, shim: ProcRef | undefined): ProcessView {
    const dir = this.dir(name);
    if (!existsSync(dir)) return { alive: false, exists: false };
    const exits = readExits(dir);
    const endedBy: Record<string, number> = {};
    for (const e of exits) endedBy[e.reason] = (endedBy[e.reason] ?? 0) + 1;
    return { alive: isAlive(shim), shim: readShimState(dir), last: exits.at(-1), exists: true, endedBy };
  }

  /** The process's log records; follow ends when done() says so. */
  logs(name: string, options: LogOptions): AsyncGenerator<LogRecord> {
    return readLogs(join(this.dir(name), 'container.log'), options);
  }

  /** One usage sample of the running process, or undefined when it is not running. */
  async stats(name: string, shim: ProcRef | undefined, limits: ResourceLimits): Promise<StatsSample | undefined> {
    const state = readShimState(this.dir(name));
    if (!isAlive(shim) || state?.phase !== 'running') return undefined;
    const row = {
      id: `local-${name}`, name, status: 'running' as const, createdAt: 0,
      config: { limits } as never,
      state: { init: state.init, startedAt: state.runStartedAt, restartCount: state.restarts, runBase: 0, restartBase: 0 },
    };
    return (await sampleStats([row]))[0];
  }

  /** Stop the process and delete its run directory. */
  async remove(name: string, shim: ProcRef | undefined, options: { signal?: number; timeout?: number } = {}): Promise<void> {
    await this.stop(name, shim, options);
    // a `bot cron-refill` the supervisor started may still be writing its last file here: retry ENOTEMPTY
    await rm(this.dir(name), { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  }
}
