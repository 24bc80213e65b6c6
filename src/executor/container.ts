// CUSTOM_CONTAINER: a bot is a codex32 container named bot-NAME, recreated when its definition changes.
import { createHash } from '../lazy.js';
import { chmodSync, existsSync, lchownSync, lstatSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ID_RANGE_SIZE, ID_RANGE_START, idRangeOf } from '../state/idranges.js';
import type { ContainerConfig } from '../config/schema.js';
import type { ContainerEngine } from '../engine/engine.js';
import { isEngineError } from '../errors.js';
import type { LogOptions, LogRecord } from '../monitor/logs.js';
import type { RestartName } from '../config/parse.js';
import type { Bot, BotBrief } from './bot.js';
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
    ...logRotation(bot),
    port: d.port,
    ...(d.storage_size !== undefined ? { storageSize: d.storage_size } : {}),
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

/** Make a bot's data volumes that do not exist yet (owned by root until a strict container is given them). */
export function makeVolumes(storageDir: string, bot: Bot): void {
  for (const v of bot.deployment.volumes) {
    const dir = volumeDir(storageDir, bot.name, v.name);
    if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o755 });
  }
}

/** The bot's log rotation: max_size, and retain rotated files beside the live one (the supervisor counts both). */
export function logRotation(bot: Bot): { logMaxSize?: number; logMaxFiles?: number } {
  return { ...(bot.max_size !== undefined ? { logMaxSize: bot.max_size } : {}), ...(bot.retain !== undefined ? { logMaxFiles: bot.retain + 1 } : {}) };
}

/**
 * Hand a bot's data volumes to its strict container's host uid range from idBase. The data outlives
 * containers, and a redeployed bot's new container may hold another range: every owner is moved to the
 * same id inside the new range (a file of the old container's uid 1000 stays uid 1000 inside).
 */
export function giveVolumes(storageDir: string, bot: Bot, idBase: number): void {
  const inRange = (id: number) => (id < ID_RANGE_START ? id : (id - ID_RANGE_START) % ID_RANGE_SIZE) + idBase;
  const walk = (p: string) => {
    const st = lstatSync(p);
    const uid = inRange(st.uid), gid = inRange(st.gid);
    if (uid !== st.uid || gid !== st.gid) {
      lchownSync(p, uid, gid);
      // chown clears setuid and setgid on files: put the mode back
      if (!st.isSymbolicLink() && st.mode & 0o6000) chmodSync(p, st.mode & 0o7777);
    }
    if (st.isDirectory()) for (const e of readdirSync(p)) walk(join(p, e));
  };
  for (const v of bot.deployment.volumes) walk(volumeDir(storageDir, bot.name, v.name));
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

/** True when a bot's last run ended in a way its policy restarts, yet it was not restarted: it used up its restarts. */
export function gaveUp(policy: RestartName, last: { exitCode: number; reason: string } | undefined): boolean {
  // only the ends of a run the supervisor restarts by policy (not a stop, a failed launch or a lost supervisor)
  if (!last || policy === 'no' || !['failed', 'signal', 'oom', 'unhealthy', 'completed'].includes(last.reason)) return false;
  return policy === 'on-failure' ? last.exitCode !== 0 : true;
}

/** The container a CUSTOM_CONTAINER bot runs in. */
export const containerName = (bot: Pick<Bot, 'name'>) => `bot-${bot.name}`;
const hash = (bot: Bot) => botContainerConfig(bot).labels!['codex32.bot.hash']; // the volumes' place is fixed: the names suffice

/** CUSTOM_CONTAINER: bots as codex32 containers. */
export class ContainerBackend implements Backend {
  constructor(private readonly engine: ContainerEngine) {}

  private find(bot: Pick<Bot, 'name'>) {
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
      makeVolumes(this.engine.settings.storageDir, bot);
      row = this.engine.get((await this.engine.create(botContainerConfig(bot, this.engine.settings.storageDir))).id);
      const idBase = idRangeOf(this.engine.store, row.id);
      if (idBase !== undefined) giveVolumes(this.engine.settings.storageDir, bot, idBase);
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
    return this.statusOf({ name: bot.name, restart: bot.deployment.restart.name });
  }

  /** Where a bot stands, from its name and restart policy alone. */
  async statusOf(bot: Pick<BotBrief, 'name' | 'restart'>): Promise<BotStatus> {
    const row = this.find(bot);
    if (!row) return { name: bot.name, type: 'CUSTOM_CONTAINER', status: 'not-deployed', restarts: 0 };
    const doc = await this.engine.inspect(row.id);
    const last = doc.State.Status === 'exited' ? { exitCode: doc.State.ExitCode, reason: doc.State.Reason } : undefined;
    if (doc.State.Running) refreshCronTimes(this.engine.paths(row.id).dir, row.config.keep); // a look re-arms the supervisor's cron restarts
    return {
      name: bot.name,
      type: 'CUSTOM_CONTAINER',
      status: gaveUp(bot.restart, last) ? 'errored' : doc.State.Status,
      pid: doc.State.Pid || undefined,
      restarts: doc.RestartCount,
      exitCode: last ? last.exitCode : undefined,
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
