// LOCAL_PROCESS: a bot as a plain host process, no isolation, but the same supervisor (logs, exits,
// restart policy, health) launched by the engine and tracked by pid plus start time.
import type { ContainerEngine } from '../engine/engine.js';
import type { LogOptions, LogRecord } from '../monitor/logs.js';
import type { ProcRef } from '../state/types.js';
import { EngineError } from '../errors.js';
import type { Bot, BotBrief } from './bot.js';
import { botContainerConfig, botEnv, gaveUp, logRotation, restartPolicy } from './container.js';
import { refreshCronTimes } from '../runtime/keep-plan.js';
import { prepareKeep } from './keep.js';
import type { Backend, BotStatus } from './types.js';

/** The supervisor's restarts split by why: the ends its own promises made (memory, cron, watch), the rest its policy's. */
function keptPromises(restarts: number, endedBy: Record<string, number> = {}): Record<string, number> | undefined {
  const kept: Record<string, number> = {};
  for (const [reason, key] of [['memory-restart', 'memory_restart'], ['cron-restart', 'cron_restart'], ['watch-restart', 'watch']] as const)
    if (endedBy[reason]) kept[key] = endedBy[reason];
  if (!Object.keys(kept).length) return undefined; // every restart was the policy's: nothing to split
  const policy = restarts - Object.values(kept).reduce((t, n) => t + n, 0);
  return { policy: Math.max(0, policy), ...kept };
}

export interface LocalState {
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
    // a new supervisor counts from 0: the restarts of the ones before it are carried in the bot's state
    const before = this.state(bot);
    const carried = (before.restartBase ?? 0) + (this.engine.processes.view(bot.name, before.shim).shim?.restarts ?? 0);
    prepareKeep(cfg.keep);
    const launched = await this.engine.processes.launch(bot.name, {
      source: bot.script, command: bot.args, env, port: bot.deployment.port, restart: restartPolicy(bot), health: cfg.health,
      stopSignal: bot.deployment.stop_signal, stopTimeout: bot.deployment.stop_timeout, ...logRotation(bot), keep: cfg.keep,
    });
    const prev = this.state(bot);
    this.engine.store.setBotState(bot.name, { ...prev, shim: launched.shim, port: launched.port, hash, restartBase: carried });
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
    return this.statusOf({ name: bot.name, restart: bot.deployment.restart.name, cron: bot.deployment.cron_restart }, this.state(bot));
  }

  /** Where a bot stands, from its stored state (so a listing of many reads the database once). */
  statusOf(bot: Pick<BotBrief, 'name' | 'restart' | 'cron'>, st: LocalState): BotStatus {
    const base = { name: bot.name, type: 'LOCAL_PROCESS' as const };
    const { exists, alive, shim, last, endedBy } = this.engine.processes.view(bot.name, st.shim);
    if (!exists) return { ...base, status: 'not-deployed', restarts: 0 };
    if (alive && bot.cron) refreshCronTimes(this.engine.processes.dir(bot.name), { cronRestart: bot.cron }); // a look re-arms the supervisor's cron restarts
    // a supervisor gone without recording its end was lost (killed, host restart): the bot is dead, not exited
    const ended = alive ? (shim?.phase ?? 'starting') : shim && shim.phase !== 'exited' ? 'dead' : 'exited';
    // PM2's `errored`: the policy wanted another restart but the restart limit was reached
    const status = ended === 'exited' && gaveUp(bot.restart, last) ? 'errored' : ended;
    return {
      ...base,
      status,
      pid: alive && shim?.phase === 'running' ? shim.init.pid : undefined,
      restarts: (st.restartBase ?? 0) + (shim?.restarts ?? 0),
      restartReasons: keptPromises((st.restartBase ?? 0) + (shim?.restarts ?? 0), endedBy),
      exitCode: status === 'exited' || status === 'errored' ? last?.exitCode : undefined,
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
