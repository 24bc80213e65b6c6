// AdaptiveExecutor: one interface over the three deployment backends, and the bot definitions in SQLite.
import { rmSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import picomatch from 'picomatch';
import type { ContainerEngine } from '../engine/engine.js';
import { EngineError } from '../errors.js';
import type { LogOptions, LogRecord } from '../monitor/logs.js';
import type { StatsSample } from '../monitor/stats.js';
import { parseBot, validateBots, type Bot, type BotInput, type DeploymentType } from './bot.js';
import { readBotFile } from './botfile.js';
import { ContainerBackend, volumeDir } from './container.js';
import { KubernetesBackend, validatedManifests } from './kubernetes.js';
import { LocalBackend } from './local.js';
import type { Backend, BotStatus } from './types.js';

/** What codex32 keeps about a bot beside its definition: the user's intent survives every restart of codex32. */
export interface BotIntent {
  /** the user stopped it: nothing brings it back but the user (serve, start --all, boot) */
  userStopped?: boolean;
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
    const bots = validateBots(inputs);
    this.checkDeployable(bots);
    const names = new Set(bots.map((b) => b.name));
    // copies of an `instances` definition that the new definition no longer has are removed
    const groups = new Set(bots.flatMap((b) => [b.name, b.instance_of ?? b.name]));
    for (const old of this.list()) if (old.instance_of && groups.has(old.instance_of) && !names.has(old.name)) await this.remove(old.name);
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

  /** Refuse, all at once, what a backend cannot honour: nothing is stored when one bot asks for it. */
  private checkDeployable(bots: Bot[]): void {
    const issues: string[] = [];
    for (const b of bots) {
      const d = b.deployment;
      const isolation = d.isolation ?? this.engine.settings.isolation;
      if (d.type === 'LOCAL_PROCESS' && Object.keys(d.limits).length)
        issues.push(`bot ${b.name}: deployment.limits: a LOCAL_PROCESS bot runs unconfined, so its limits could not be enforced; use type CUSTOM_CONTAINER with isolation minimal (a host process with rlimits and cgroups), or memory_restart for a graceful restart`);
      if (d.volumes.length && (d.type === 'LOCAL_PROCESS' || (d.type === 'CUSTOM_CONTAINER' && isolation === 'minimal')))
        issues.push(`bot ${b.name}: deployment.volumes: a volume needs a mount namespace (isolation standard or strict); a ${d.type === 'LOCAL_PROCESS' ? 'LOCAL_PROCESS bot' : 'minimal container'} sees the host's filesystem, so write to a host directory instead`);
    }
    if (issues.length) throw new EngineError('INVALID_CONFIG', `Invalid bot file:\n  ${issues.join('\n  ')}`, { context: { issues } });
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

  /** Bot names matching each pattern: a name, the name of an `instances` definition (all its copies), a glob, or `all`. */
  resolve(patterns: string[]): string[] {
    const all = this.list();
    const out = new Set<string>();
    for (const p of patterns) {
      const isGlob = /[*?[\]{}]/.test(p);
      const hit = p === 'all' ? all : all.filter((b) => b.name === p || b.instance_of === p || (isGlob && globMatch(p, b.name)));
      if (!hit.length) throw new EngineError('NO_SUCH_BOT', `No such bot: ${p}. Run \`codex32 bot ls\` to list bots.`, { context: { bot: p } });
      for (const b of hit) out.add(b.name);
    }
    return [...out];
  }

  /** Run a stored bot. */
  runBot(name: string): Promise<BotStatus> {
    this.setIntent(name, { userStopped: false });
    return this.act(name, (backend, bot) => backend.run(bot));
  }

  /** Stop a running bot gracefully; it stays stopped until the user runs it again. */
  stopBot(name: string): Promise<BotStatus> {
    this.setIntent(name, { userStopped: true });
    return this.act(name, (backend, bot) => backend.stop(bot));
  }

  /** Restart a bot: a graceful stop, then a start of the code now on disk. */
  restartBot(name: string): Promise<BotStatus> {
    this.setIntent(name, { userStopped: false });
    return this.act(name, (backend, bot) => backend.restart(bot));
  }

  private async act(name: string, fn: (backend: Backend, bot: Bot) => Promise<void>): Promise<BotStatus> {
    const bot = this.get(name);
    await fn(this.backend(bot), bot);
    return this.status(name);
  }

  /** Where a bot stands now. */
  async status(name: string): Promise<BotStatus> {
    const bot = this.get(name);
    return this.backend(bot).status(bot);
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

  /** Usage samples of every running LOCAL_PROCESS bot (containers' come from the engine's stats). */
  async localStats(): Promise<StatsSample[]> {
    const out: StatsSample[] = [];
    for (const b of this.list()) if (b.deployment.type === 'LOCAL_PROCESS') {
      const s = await this.backend(b).stats(b).catch(() => undefined);
      if (s) out.push(s);
    }
    return out;
  }

  /** The Kubernetes manifests the bot would be deployed as, validated. */
  manifest(name: string) {
    return validatedManifests(this.get(name));
  }

  /** Stop a bot gracefully, remove what runs it and its definition; its data volumes stay unless `volumes`. */
  async remove(name: string, options: { volumes?: boolean } = {}): Promise<void> {
    const bot = this.get(name);
    await this.backend(bot).remove(bot);
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
    return out;
  }
}

/** a shell-style glob match of a whole bot name */
function globMatch(pattern: string, name: string): boolean {
  return picomatch.isMatch(name, pattern, { dot: true });
}
