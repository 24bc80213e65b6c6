// AdaptiveExecutor: one interface over the three deployment backends, and the bot definitions in SQLite.
import { isAbsolute, resolve } from 'node:path';
import type { ContainerEngine } from '../engine/engine.js';
import { EngineError } from '../errors.js';
import type { LogOptions, LogRecord } from '../monitor/logs.js';
import type { StatsSample } from '../monitor/stats.js';
import { parseBot, readBotFile, validateBots, type Bot, type BotInput, type DeploymentType } from './bot.js';
import { ContainerBackend } from './container.js';
import { KubernetesBackend, validatedManifests } from './kubernetes.js';
import { LocalBackend } from './local.js';
import type { Backend, BotStatus } from './types.js';

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
    inputs = inputs.map((b, i) => (isAbsolute(given[i].script) ? b : { ...b, script: resolve(options.baseDir ?? process.cwd(), given[i].script) }));
    const bots = validateBots(inputs);
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
          await this.backend(b).run(b);
          started.push(b.name);
        } catch (e) {
          failed.push({ name: b.name, error: (e as Error).message });
        }
      }
    return { applied: bots.map((b) => b.name), started, failed };
  }

  /** Apply a bot file (JSON or YAML). Nothing is stored unless every bot in it is valid. */
  async applyFile(path: string, options: { start?: boolean } = {}) {
    return this.apply(await readBotFile(path), options);
  }

  /** Run a stored bot. */
  runBot(name: string): Promise<BotStatus> {
    return this.act(name, (backend, bot) => backend.run(bot));
  }

  /** Stop a running bot. */
  stopBot(name: string): Promise<BotStatus> {
    return this.act(name, (backend, bot) => backend.stop(bot));
  }

  /** Restart a bot. */
  restartBot(name: string): Promise<BotStatus> {
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

  /** The Kubernetes manifests the bot would be deployed as, validated. */
  manifest(name: string) {
    return validatedManifests(this.get(name));
  }

  /** Stop a bot, remove what runs it and its definition. */
  async remove(name: string): Promise<void> {
    const bot = this.get(name);
    await this.backend(bot).remove(bot);
    this.engine.store.tx(() => this.engine.store.deleteBot(name));
  }

  /** Bring back bots whose restart policy says they should run (service start, host restart). */
  async restore(): Promise<string[]> {
    const out: string[] = [];
    for (const b of this.list()) {
      if (b.deployment.type === 'KUBERNETES_POD' || !b.autostart || b.deployment.restart.name === 'no') continue;
      const s = await this.status(b.name);
      if (s.status === 'running' || s.status === 'restarting') continue;
      if (s.status !== 'not-deployed' && b.deployment.restart.name === 'on-failure' && s.exitCode === 0) continue;
      await this.runBot(b.name).then(() => out.push(b.name)).catch(() => undefined);
    }
    return out;
  }
}
