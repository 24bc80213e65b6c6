// CUSTOM_CONTAINER: a bot is a codex32 container named bot-NAME, recreated when its definition changes.
import { createHash } from '../lazy.js';
import { chownSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { STRICT_ID_BASE } from '../runtime/plan.js';
import type { ContainerConfig } from '../config/schema.js';
import type { ContainerEngine } from '../engine/engine.js';
import { isEngineError } from '../errors.js';
import type { LogOptions, LogRecord } from '../monitor/logs.js';
import type { Bot } from './bot.js';
import { refreshCronTimes } from '../runtime/keep-plan.js';
import { botKeep, prepareKeep } from './keep.js';
import type { Backend, BotStatus } from './types.js';

/** The container config a bot becomes (shared with the local backend's command inference). */
export function botContainerConfig(bot: Bot, storageDir?: string): ContainerConfig {
  const d = bot.deployment;
  const cfg = {
    name: containerName(bot),
    image: bot.image ?? bot.script ?? '', // the schema gives every bot exactly one of them
    command: bot.args.length ? bot.args : [],
    env: botEnv(bot),
    isolation: d.isolation,
    limits: d.limits,
    restart: restartPolicy(bot),
    stopSignal: d.stop_signal,
    stopTimeout: d.stop_timeout,
    refreshApp: true, // a bot runs the code on disk when it (re)starts
    port: d.port,
    health: d.health && {
      cmd: ['sh', '-c', d.health.cmd],
      intervalMs: Math.round(d.health.interval * 1000),
      timeoutMs: Math.round(d.health.timeout * 1000),
      retries: d.health.retries,
      startPeriodMs: Math.round(d.health.startPeriod * 1000),
      restartOnUnhealthy: d.health.restart,
    },
    // memory, cron and watch restarts and the log copies are the supervisor's: a change of them is a new spec
    keep: botKeep(bot),
  };
  const digest = createHash('sha256').update(JSON.stringify({ ...cfg, volumes: d.volumes })).digest('hex').slice(0, 16);
  return {
    ...cfg,
    labels: { 'codex32.bot': bot.name, 'codex32.bot.hash': digest },
    volumes: storageDir ? d.volumes.map((v) => ({ source: volumeDir(storageDir, bot.name, v.name), target: v.target, readOnly: false })) : [],
    // a data volume is a directory codex32 made for this bot alone under its storage, not the storage itself
    ...(storageDir && d.volumes.length ? { allowHostRoot: true } : {}),
  };
}

/** Where a bot's data volume lives: outside every container, so it outlives them. */
export function volumeDir(storageDir: string, bot: string, volume: string): string {
  return join(storageDir, 'bot-volumes', bot, volume);
}

/** Make a bot's data volumes (owned by the container's root under strict isolation). */
export function makeVolumes(storageDir: string, bot: Bot, strictOwner: number): void {
  for (const v of bot.deployment.volumes) {
    const dir = volumeDir(storageDir, bot.name, v.name);
    if (existsSync(dir)) continue;
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    if (bot.deployment.isolation === 'strict') chownSync(dir, strictOwner, strictOwner);
  }
}

/** The bot's environment: its own, plus PYTHONUNBUFFERED=1 so a Python bot's output is seen as it is written. */
export function botEnv(bot: Bot): Record<string, string> {
  return { PYTHONUNBUFFERED: '1', ...bot.env };
}

/** The supervisor's restart policy for a bot: docker's policy, with the bot's delays. */
export function restartPolicy(bot: Bot) {
  const d = bot.deployment;
  const ms = (s: number | undefined) => (s === undefined ? undefined : Math.max(1, Math.round(s * 1000)));
  return {
    name: d.restart.name,
    // PM2's max_restarts counts only runs shorter than min_uptime; docker's on-failure:N counts every restart
    maxRetries: d.max_restarts ?? d.restart.maxRetries,
    ...(d.max_restarts !== undefined ? { minUptimeMs: Math.round((d.min_uptime ?? 1) * 1000) } : {}),
    ...(d.restart_delay !== undefined ? { backoffInitialMs: ms(d.restart_delay) } : {}),
    ...(d.backoff_max !== undefined ? { backoffMaxMs: ms(Math.max(d.backoff_max, d.restart_delay ?? 0)) } : {}),
  };
}

const containerName = (bot: Bot) => `bot-${bot.name}`;
const hash = (bot: Bot) => botContainerConfig(bot).labels!['codex32.bot.hash']; // the volumes' place is fixed: the names suffice

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
      // the definition changed: a graceful stop, then a fresh container
      await this.engine.stop(row.id);
      await this.engine.remove(row.id, { force: true });
      row = undefined;
    }
    prepareKeep(botKeep(bot));
    if (!row) {
      makeVolumes(this.engine.settings.storageDir, bot, STRICT_ID_BASE);
      row = this.engine.get((await this.engine.create(botContainerConfig(bot, this.engine.settings.storageDir))).id);
    }
    await this.engine.start(row.id);
  }

  async stop(bot: Bot): Promise<void> {
    const row = this.find(bot);
    if (row) await this.engine.stop(row.id);
  }

  async restart(bot: Bot): Promise<void> {
    const row = this.find(bot);
    if (!row || row.config.labels['codex32.bot.hash'] !== hash(bot)) return this.run(bot);
    await this.engine.restart(row.id);
  }

  async status(bot: Bot): Promise<BotStatus> {
    const row = this.find(bot);
    if (!row) return { name: bot.name, type: 'CUSTOM_CONTAINER', status: 'not-deployed', restarts: 0 };
    const doc = await this.engine.inspect(row.id);
    if (doc.State.Running) refreshCronTimes(this.engine.paths(row.id).dir, row.config.keep); // a look re-arms the supervisor's cron restarts
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
    if (!row) return;
    await this.engine.stop(row.id); // the bot's own stop signal and grace period, not remove's immediate kill
    await this.engine.remove(row.id, { force: true });
  }
}
