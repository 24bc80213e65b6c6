// LOCAL_PROCESS: a bot as a plain host process, no isolation, but the same supervisor (logs, exits,
// restart policy, health) launched by the engine and tracked by pid plus start time.
import type { ContainerEngine } from '../engine/engine.js';
import type { LogOptions, LogRecord } from '../monitor/logs.js';
import type { ProcRef } from '../state/types.js';
import { EngineError } from '../errors.js';
import type { Bot } from './bot.js';
import { botContainerConfig, botEnv, restartPolicy } from './container.js';
import { refreshCronTimes } from '../runtime/keep-plan.js';
import { botKeep, prepareKeep } from './keep.js';
import type { Backend, BotStatus } from './types.js';

interface LocalState {
  shim?: ProcRef;
  /** the definition the running process was started from */
  hash?: string;
  port?: number;
  restartBase?: number;
}

/** LOCAL_PROCESS: bots as plain host processes under the supervisor. */
export class LocalBackend implements Backend {
  constructor(private readonly engine: ContainerEngine) {}

  private state(bot: Bot): LocalState {
    return (this.engine.store.getBot(bot.name)?.state ?? {}) as LocalState;
  }

  private stopOptions(bot: Bot) {
    return { signal: bot.deployment.stop_signal, timeout: bot.deployment.stop_timeout };
  }

  private running(bot: Bot): boolean {
    return this.engine.processes.alive(this.state(bot).shim);
  }

  async run(bot: Bot): Promise<void> {
    if (!bot.script) throw new EngineError('INVALID_CONFIG', `Invalid bot ${bot.name}: LOCAL_PROCESS runs a script on the host; an image needs CUSTOM_CONTAINER or KUBERNETES_POD`);
    const cfg = botContainerConfig(bot);
    const hash = cfg.labels!['codex32.bot.hash'];
    if (this.running(bot)) {
      if (this.state(bot).hash === hash) return;
      await this.stop(bot); // the definition changed: a graceful stop, then the new one
    }
    // a defined environment whoever starts it (a shell, serve, systemd at boot): the bot's own, plus
    // PATH and HOME; nothing of the caller's (codex32's settings and the service token among them)
    const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin', HOME: process.env.HOME ?? '/root', ...botEnv(bot) };
    prepareKeep(cfg.keep);
    const launched = await this.engine.processes.launch(bot.name, {
      source: bot.script, command: bot.args, env, port: bot.deployment.port, restart: restartPolicy(bot), health: cfg.health,
      stopSignal: bot.deployment.stop_signal, stopTimeout: bot.deployment.stop_timeout, keep: cfg.keep,
    });
    const prev = this.state(bot);
    this.engine.store.setBotState(bot.name, { ...prev, shim: launched.shim, port: launched.port, hash, restartBase: prev.restartBase ?? 0 });
    if (launched.failure) throw launched.failure;
  }

  async stop(bot: Bot): Promise<void> {
    await this.engine.processes.stop(bot.name, this.state(bot).shim, this.stopOptions(bot));
  }

  async restart(bot: Bot): Promise<void> {
    await this.stop(bot);
    await this.run(bot);
  }

  async status(bot: Bot): Promise<BotStatus> {
    const st = this.state(bot);
    const base = { name: bot.name, type: 'LOCAL_PROCESS' as const };
    const { exists, alive, shim, last } = this.engine.processes.view(bot.name, st.shim);
    if (!exists) return { ...base, status: 'not-deployed', restarts: 0 };
    if (alive) refreshCronTimes(this.engine.processes.dir(bot.name), botKeep(bot)); // a look re-arms the supervisor's cron restarts
    // a supervisor gone without recording its end was lost (killed, host restart): the bot is dead, not exited
    const status = alive ? (shim?.phase ?? 'starting') : shim && shim.phase !== 'exited' ? 'dead' : 'exited';
    return {
      ...base,
      status,
      pid: alive && shim?.phase === 'running' ? shim.init.pid : undefined,
      restarts: shim?.restarts ?? 0,
      exitCode: status === 'exited' ? last?.exitCode : undefined,
      startedAt: shim?.runStartedAt || undefined,
      health: shim && shim.health !== 'none' ? shim.health : undefined,
      url: st.port ? `http://127.0.0.1:${st.port}` : undefined,
      detail: status === 'dead' ? 'supervisor-lost' : alive ? undefined : last?.reason,
    };
  }

  logs(bot: Bot, options: LogOptions): AsyncGenerator<LogRecord> {
    return this.engine.processes.logs(bot.name, { ...options, done: options.done ?? (() => !this.running(bot)) });
  }

  async stats(bot: Bot) {
    return this.engine.processes.stats(bot.name, this.state(bot).shim, bot.deployment.limits);
  }

  async remove(bot: Bot): Promise<void> {
    await this.engine.processes.remove(bot.name, this.state(bot).shim, this.stopOptions(bot));
  }
}
