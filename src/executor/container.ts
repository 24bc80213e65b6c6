// CUSTOM_CONTAINER: a bot is a codex32 container named bot-NAME, recreated when its definition changes.
import { createHash } from 'node:crypto';
import type { ContainerConfig } from '../config/schema.js';
import type { ContainerEngine } from '../engine/engine.js';
import { isEngineError } from '../errors.js';
import type { LogOptions, LogRecord } from '../monitor/logs.js';
import type { Bot } from './bot.js';
import type { Backend, BotStatus } from './types.js';

/** The container config a bot becomes (shared with the local backend's command inference). */
export function botContainerConfig(bot: Bot): ContainerConfig {
  const d = bot.deployment;
  return {
    name: containerName(bot),
    image: bot.script,
    command: bot.args.length ? bot.args : [],
    env: bot.env,
    isolation: d.isolation,
    limits: d.limits,
    restart: d.restart,
    port: d.port,
    health: d.health && {
      cmd: ['sh', '-c', d.health.cmd],
      intervalMs: Math.round(d.health.interval * 1000),
      timeoutMs: Math.round(d.health.timeout * 1000),
      retries: d.health.retries,
      startPeriodMs: Math.round(d.health.startPeriod * 1000),
      restartOnUnhealthy: d.health.restart,
    },
    labels: { 'codex32.bot': bot.name, 'codex32.bot.hash': hash(bot) },
  };
}

const containerName = (bot: Bot) => `bot-${bot.name}`;
const hash = (bot: Bot) => createHash('sha256').update(JSON.stringify({ ...bot, autostart: undefined })).digest('hex').slice(0, 16);

/** CUSTOM_CONTAINER: bots as codex32 containers. */
export class ContainerBackend implements Backend {
  constructor(private readonly engine: ContainerEngine) {}

  private find(bot: Bot) {
    try {
      return this.engine.get(containerName(bot));
    } catch (e) {
      if (isEngineError(e, 'NO_SUCH_CONTAINER')) return undefined;
      throw e;
    }
  }

  async run(bot: Bot): Promise<void> {
    let row = this.find(bot);
    if (row && row.config.labels['codex32.bot.hash'] !== hash(bot)) {
      await this.engine.remove(row.id, { force: true }); // the definition changed: a fresh container
      row = undefined;
    }
    if (!row) row = this.engine.get((await this.engine.create(botContainerConfig(bot))).id);
    await this.engine.start(row.id);
  }

  async stop(bot: Bot): Promise<void> {
    const row = this.find(bot);
    if (row) await this.engine.stop(row.id);
  }

  async restart(bot: Bot): Promise<void> {
    const row = this.find(bot);
    if (!row) return this.run(bot);
    await this.engine.restart(row.id);
  }

  async status(bot: Bot): Promise<BotStatus> {
    const row = this.find(bot);
    if (!row) return { name: bot.name, type: 'CUSTOM_CONTAINER', status: 'not-deployed', restarts: 0 };
    const doc = await this.engine.inspect(row.id);
    return {
      name: bot.name,
      type: 'CUSTOM_CONTAINER',
      status: doc.State.Status,
      pid: doc.State.Pid || undefined,
      restarts: doc.RestartCount,
      exitCode: doc.State.Status === 'exited' ? doc.State.ExitCode : undefined,
      startedAt: row.state.startedAt,
      health: doc.State.Health?.Status,
      url: doc.NetworkSettings.URL ?? undefined,
      containerId: row.id,
    };
  }

  async *logs(bot: Bot, options: LogOptions): AsyncGenerator<LogRecord> {
    const row = this.find(bot);
    if (row) yield* this.engine.logs(row.id, options);
  }

  async stats(bot: Bot) {
    const row = this.find(bot);
    if (!row || row.status !== 'running') return undefined;
    return (await this.engine.stats([row.id]))[0];
  }

  async remove(bot: Bot): Promise<void> {
    const row = this.find(bot);
    if (row) await this.engine.remove(row.id, { force: true });
  }
}
