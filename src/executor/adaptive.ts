// AdaptiveExecutor: one interface over the three deployment backends, and the bot definitions in SQLite.
import { rmSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import picomatch from 'picomatch';
import type { ContainerEngine } from '../engine/engine.js';
import { EngineError } from '../errors.js';
import type { LogOptions, LogRecord } from '../monitor/logs.js';
import { childrenOf, sweepProcs, treeUsage } from '../monitor/procsweep.js';
import type { StatsSample } from '../monitor/stats.js';
import { botBrief, parseBot, validateBots, type Bot, type BotBrief, type BotInput, type DeploymentType } from './bot.js';
import { readBotFile } from './botfile.js';
import { balance, runningAddresses } from './balancer.js';
import { ContainerBackend, containerName, volumeDir } from './container.js';
import { KubernetesBackend, validatedManifests } from './kubernetes.js';
import { LocalBackend, type LocalState } from './local.js';
import { pinCommand } from './pincommand.js';
import { clearParked, parkedContainers, replaceInstance } from './reload.js';
import type { Backend, BotStatus } from './types.js';

/** What codex32 keeps about a bot beside its definition: the user's intent survives every restart of codex32. */
export interface BotIntent {
  /** the user stopped it: nothing brings it back but the user (serve, start --all, boot) */
  userStopped?: boolean;
  /** restarts asked for, by reason (the supervisor counts its own) */
  restartsBy?: Record<string, number>;
  /** a reload's new container (under the bot's name) is not ready yet: no pass of any process puts it in the balancer */
  reloading?: boolean;
}

/** A backend's status with the restarts asked for added, each reason counted apart. */
function withRestarts(s: BotStatus, intent: BotIntent): BotStatus {
  const asked = Object.entries(intent.restartsBy ?? {});
  if (!asked.length) return s;
  const reasons = { ...(s.restartReasons ?? { policy: s.restarts }) };
  for (const [k, n] of asked) reasons[k] = (reasons[k] ?? 0) + n;
  return { ...s, restarts: s.restarts + asked.reduce((t, [, n]) => t + n, 0), restartReasons: reasons };
}

export type { BotStatus } from './types.js';

/** Runs bots through the backend their deployment type names, over the definitions stored in SQLite. */
export class AdaptiveExecutor {
  private readonly backends: Record<DeploymentType, Backend>;

  constructor(readonly engine: ContainerEngine) {
    this.backends = {
      LOCAL_PROCESS: new LocalBackend(engine),
      CUSTOM_CONTAINER: new ContainerBackend(engine),
      KUBERNETES_POD: new KubernetesBackend(),
    };
  }

  /** A stored bot by name. */
  get(name: string): Bot {
    const row = this.engine.store.getBot(name);
    if (!row) throw new EngineError('NO_SUCH_BOT', `No such bot: ${name}. Run \`codex32 bot ls\` to list bots.`, { context: { bot: name } });
    return parseBot(row.config, name);
  }

  /** Every stored bot. */
  list(): Bot[] {
    return this.engine.store.listBots().map((r) => parseBot(r.config, r.name));
  }

  private backend(bot: Bot): Backend {
    return this.backends[bot.deployment.type];
  }

  /** Validate and store definitions (all or none; the raw form is stored, parsed on every read), then run those marked autostart. */
  async apply(inputs: BotInput[], options: { start?: boolean; baseDir?: string } = {}): Promise<{ applied: string[]; started: string[]; failed: Array<{ name: string; error: string }> }> {
    const given = validateBots(inputs);
    // a relative script is resolved now, against where the definition was given, not where it later runs
    inputs = inputs.map((b, i) => { const s = given[i].script; return s === undefined || isAbsolute(s) ? b : { ...b, script: resolve(options.baseDir ?? process.cwd(), s) }; });
    let bots = validateBots(inputs);
    // each LOCAL_PROCESS command pinned to an absolute program now; every problem of every bot in one error
    const pinned = bots.map((b, i) => pinCommand(this.engine.store, inputs[i], b));
    const issues = [...pinned.flatMap((p) => (p.issue ? [p.issue] : [])), ...this.deployIssues(bots)];
    if (issues.length) throw new EngineError('INVALID_CONFIG', `Invalid bot file:\n  ${issues.join('\n  ')}`, { context: { issues } });
    inputs = pinned.map((p) => p.input);
    bots = validateBots(inputs);
    const names = new Set(bots.map((b) => b.name));
    // scaling is exact: the instances a group no longer has are stopped and removed (the rest keep running);
    // a group that replaces a single bot of its name, or a single bot that replaces a group, removes the other
    const groups = new Set(bots.flatMap((b) => [b.name, b.instance_of ?? b.name]));
    for (const old of this.list())
      if (!names.has(old.name) && (old.instance_of ? groups.has(old.instance_of) : groups.has(old.name))) await this.remove(old.name);
    // a group that is no longer in cluster mode gives its port back before anything of the new definition starts
    for (const old of this.list())
      if (old.cluster && !bots.some((b) => b.cluster && b.instance_of === old.instance_of)) await balance(this.engine.settings.storageDir, old.instance_of!, old.cluster.port, []);
    // a bot whose type changes must leave its old backend first
    for (const b of bots) {
      const old = this.engine.store.getBot(b.name);
      if (old && old.type !== b.deployment.type) await this.backends[old.type as DeploymentType].remove(parseBot(old.config, b.name)).catch(() => undefined);
    }
    this.engine.store.upsertBots(bots.map((b, i) => ({ name: b.name, type: b.deployment.type, config: inputs[i] })));
    const started: string[] = [];
    const failed: Array<{ name: string; error: string }> = [];
    if (options.start !== false)
      for (const b of bots.filter((x) => x.autostart)) {
        try {
          await this.runBot(b.name);
          started.push(b.name);
        } catch (e) {
          failed.push({ name: b.name, error: (e as Error).message });
        }
      }
    return { applied: bots.map((b) => b.name), started, failed };
  }

  /** What a backend cannot honour, for every bot: nothing is stored when one bot asks for it. */
  private deployIssues(bots: Bot[]): string[] {
    const issues: string[] = [];
    for (const b of bots) {
      const d = b.deployment;
      const isolation = d.isolation ?? this.engine.settings.isolation;
      if (d.type === 'LOCAL_PROCESS' && Object.keys(d.limits).length)
        issues.push(`bot ${b.name}: deployment.limits: a LOCAL_PROCESS bot runs unconfined, so its limits could not be enforced; use type CUSTOM_CONTAINER with isolation minimal (a host process with rlimits and cgroups), or memory_restart for a graceful restart`);
      if (b.cluster && d.type === 'CUSTOM_CONTAINER' && isolation !== 'standard')
        issues.push(`bot ${b.name}: deployment.isolation: cluster mode needs isolation standard, where each instance has its own private network address on which it listens on PORT; ${isolation} has ${isolation === 'strict' ? 'no network' : "the host's network, where two instances cannot listen on one port"}`);
      if (d.volumes.length && (d.type === 'LOCAL_PROCESS' || (d.type === 'CUSTOM_CONTAINER' && isolation === 'minimal')))
        issues.push(`bot ${b.name}: deployment.volumes: a volume needs a mount namespace (isolation standard or strict); a ${d.type === 'LOCAL_PROCESS' ? 'LOCAL_PROCESS bot' : 'minimal container'} sees the host's filesystem, so write to a host directory instead`);
    }
    return issues;
  }

  /** Apply a bot file (codex32's, or a PM2 ecosystem file as JSON, YAML or JavaScript). Nothing is stored unless every bot in it is valid. */
  async applyFile(path: string, options: { start?: boolean; env?: string } = {}) {
    const { bots, format } = await readBotFile(path, { env: options.env });
    // PM2 paths are resolved against the file already; codex32's against where the user applies it
    return this.apply(bots, { start: options.start, baseDir: format === 'pm2' ? undefined : process.cwd() });
  }

  /** The user's intent for a bot. */
  intent(name: string): BotIntent {
    return (this.engine.store.getBot(name)?.state ?? {}) as BotIntent;
  }

  /** Record part of what codex32 keeps about a bot beside its definition. */
  setIntent(name: string, patch: BotIntent): void {
    this.engine.store.tx(() => {
      const row = this.engine.store.getBot(name);
      if (row) this.engine.store.setBotState(name, { ...row.state, ...patch });
    });
  }

  /** Bot names matching each pattern: a name, the name of an `instances` definition (all its copies), a namespace, a glob, or `all`. */
  resolve(patterns: string[]): string[] {
    const all = this.list();
    const out = new Set<string>();
    for (const p of patterns) {
      const isGlob = /[*?[\]{}]/.test(p);
      const hit = p === 'all' ? all : all.filter((b) => b.name === p || b.instance_of === p || b.namespace === p || (isGlob && globMatch(p, b.name)));
      if (!hit.length) throw new EngineError('NO_SUCH_BOT', `No such bot: ${p}. Run \`codex32 bot ls\` to list bots.`, { context: { bot: p } });
      for (const b of hit) out.add(b.name);
    }
    return [...out];
  }

  /** Run a stored bot. */
  runBot(name: string): Promise<BotStatus> {
    this.setIntent(name, { userStopped: false, reloading: false });
    return this.act(name, (backend, bot) => backend.run(bot));
  }

  /** Stop a running bot gracefully; it stays stopped until the user runs it again. */
  stopBot(name: string): Promise<BotStatus> {
    this.setIntent(name, { userStopped: true, reloading: false });
    return this.act(name, (backend, bot) => backend.stop(bot), true);
  }

  /** Restart a bot: a graceful stop, then a start of the code now on disk. */
  restartBot(name: string): Promise<BotStatus> {
    this.setIntent(name, { userStopped: false, reloading: false });
    this.countRestart(name, 'user');
    return this.act(name, (backend, bot) => backend.restart(bot), true);
  }

  /** Count a restart asked for with its reason, as PM2's restart count does. */
  private countRestart(name: string, reason: string): void {
    this.engine.store.tx(() => {
      const row = this.engine.store.getBot(name);
      const by = { ...((row?.state as BotIntent | undefined)?.restartsBy ?? {}) };
      by[reason] = (by[reason] ?? 0) + 1;
      if (row) this.engine.store.setBotState(name, { ...row.state, restartsBy: by });
    });
  }

  /**
   * A restart codex32 decides on, counted under its reason (memory_restart, cron_restart, watch: what the
   * supervisor does by itself, asked for from outside): never starts a bot the user stopped meanwhile.
   */
  async autoRestart(name: string, reason: string): Promise<BotStatus> {
    this.countRestart(name, reason);
    await this.act(name, (backend, bot) => backend.stop(bot), true);
    if (this.intent(name).userStopped) return this.status(name);
    await this.act(name, (backend, bot) => backend.run(bot));
    // the user stopped it while it was starting: their stop wins
    if (this.intent(name).userStopped) await this.act(name, (backend, bot) => backend.stop(bot), true);
    return this.status(name);
  }

  /**
   * PM2's reload: a running cluster instance is replaced by a new one that is ready before the old one
   * leaves the balancer and gets its stop signal; any other bot is restarted.
   */
  async reload(name: string): Promise<BotStatus> {
    const bot = this.get(name);
    if (bot.cluster && this.intent(name).reloading) {
      // a reload was interrupted: the container under the bot's name serves again, the old one set aside goes
      this.setIntent(name, { reloading: false });
      await this.rebalance(bot);
      await clearParked(this.engine, name);
    }
    if (!bot.cluster || (await this.status(name)).status !== 'running') return this.restartBot(name);
    this.setIntent(name, { userStopped: false, reloading: false });
    await replaceInstance(this.engine, bot, {
      start: () => this.backend(bot).run(bot),
      reloading: (on) => this.setIntent(name, { reloading: on }),
      rebalance: () => this.rebalance(bot),
    });
    return this.status(name);
  }

  /** Run fn on the bot's backend; a cluster instance that is `leaving` leaves the balancer before fn, and it is rebalanced after. */
  private async act(name: string, fn: (backend: Backend, bot: Bot) => Promise<void>, leaving = false): Promise<BotStatus> {
    const bot = this.get(name);
    if (bot.cluster && leaving) await this.rebalance(bot, bot.name);
    try {
      await fn(this.backend(bot), bot);
    } finally {
      if (bot.cluster) await this.rebalance(bot);
    }
    return this.status(name);
  }

  /** Point a cluster group's port at its running instances (but `exclude`): the kernel balances new connections over them. */
  private async rebalance(bot: Bot, exclude?: string): Promise<void> {
    const group = bot.instance_of!;
    const members = this.list().filter((b) => b.instance_of === group && b.cluster && b.name !== exclude);
    // an instance in the middle of a reload is served by its old container until the reload swaps them
    const containers = members.flatMap((b) => (this.intent(b.name).reloading ? parkedContainers(this.engine, b.name) : [containerName(b)]));
    await balance(this.engine.settings.storageDir, group, bot.cluster!.port, runningAddresses(this.engine, containers));
  }

  /** Where a bot stands now. */
  async status(name: string): Promise<BotStatus> {
    const bot = this.get(name);
    const s = withRestarts(await this.backend(bot).status(bot), this.intent(name));
    return bot.cluster ? { ...s, url: `http://127.0.0.1:${bot.cluster.port}` } : s; // the group's one port
  }

  /** Where every bot (or those named) stands: the definitions and states read in one query, container bots' views in parallel. */
  async statusAll(names?: string[]): Promise<Array<{ bot: BotBrief; status: BotStatus }>> {
    const wanted = names && new Set(names);
    const rows = this.engine.store.listBots().filter((r) => !wanted || wanted.has(r.name));
    const local = this.backends.LOCAL_PROCESS as LocalBackend;
    const container = this.backends.CUSTOM_CONTAINER as ContainerBackend;
    return Promise.all(rows.map(async (r) => {
      const bot = botBrief(r.name, r.type, r.config);
      const full = bot.type === 'KUBERNETES_POD' ? parseBot(r.config, r.name) : undefined;
      const s = bot.type === 'LOCAL_PROCESS' ? local.statusOf(bot, r.state as LocalState) : full ? await this.backend(full).status(full) : await container.statusOf(bot);
      return { bot, status: withRestarts(s, r.state as BotIntent) };
    }));
  }

  /** A bot's log records. */
  logs(name: string, options: LogOptions = {}): AsyncGenerator<LogRecord> {
    const bot = this.get(name);
    return this.backend(bot).logs(bot, options);
  }

  /** A usage sample of a running bot. */
  async stats(name: string): Promise<StatsSample | undefined> {
    const bot = this.get(name);
    return this.backend(bot).stats(bot);
  }

  /** Usage samples of every running LOCAL_PROCESS bot, from one read of /proc (containers' come from the engine's stats). */
  async localStats(): Promise<StatsSample[]> {
    const running = (await this.statusAll()).filter(({ bot, status }) => bot.type === 'LOCAL_PROCESS' && status.status === 'running' && status.pid);
    if (!running.length) return [];
    const procs = sweepProcs();
    const children = childrenOf(procs);
    const now = Date.now();
    return running.flatMap(({ bot, status: s }) => {
      const u = treeUsage(procs, children, s.pid!);
      return u ? [{ id: `local-${bot.name}`, name: bot.name, time: now, ...u, uptimeMs: s.startedAt ? now - s.startedAt : 0, restarts: s.restarts }] : [];
    });
  }

  /** The Kubernetes manifests the bot would be deployed as, validated. */
  manifest(name: string) {
    return validatedManifests(this.get(name));
  }

  /** Stop a bot gracefully, remove what runs it and its definition; its data volumes stay unless `volumes`. */
  async remove(name: string, options: { volumes?: boolean } = {}): Promise<void> {
    const bot = this.get(name);
    if (bot.cluster) await this.rebalance(bot, name); // out of the balancer before its stop signal
    await this.backend(bot).remove(bot);
    if (bot.cluster) await clearParked(this.engine, name);
    this.engine.store.tx(() => this.engine.store.deleteBot(name));
    if (options.volumes) rmSync(volumeDir(this.engine.settings.storageDir, name, ''), { recursive: true, force: true });
  }

  /**
   * Bring back bots that should run and do not, by docker's rules: a bot the user stopped stays stopped,
   * whatever its policy; a bot whose supervisor ended it (an `on-failure` bot that succeeded or used up its
   * retries, a `no` bot that exited) stays down; a bot whose supervisor was lost (killed, host restart) runs
   * again. `initial` (service start) also runs bots stored but never deployed.
   */
  async restore(options: { initial?: boolean } = {}): Promise<string[]> {
    const out: string[] = [];
    for (const b of this.list()) {
      if (b.deployment.type === 'KUBERNETES_POD' || !b.autostart || this.intent(b.name).userStopped) continue;
      if (b.deployment.restart.name === 'no') continue;
      const s = await this.status(b.name).catch(() => undefined);
      if (s?.status !== 'dead' && !(options.initial && s?.status === 'not-deployed')) continue;
      await this.act(b.name, (backend, bot) => backend.run(bot)).then(() => out.push(b.name)).catch(() => undefined);
    }
    // a cluster instance its container's repair gave another address: the balancer follows (unchanged: no rewrite)
    const groups = new Map(this.list().filter((b) => b.cluster).map((b) => [b.instance_of!, b]));
    for (const b of groups.values()) await this.rebalance(b).catch(() => undefined);
    return out;
  }
}

/** a shell-style glob match of a whole bot name */
function globMatch(pattern: string, name: string): boolean {
  return picomatch.isMatch(name, pattern, { dot: true });
}
