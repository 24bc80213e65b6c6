// LOCAL_PROCESS: a bot as a plain host process, no isolation, but the same supervisor (logs, exits,
// restart policy, health) launched detached through execa and tracked by pid plus start time.
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { ContainerEngine } from '../engine/engine.js';
import { EngineError } from '../errors.js';
import { inferCommand, resolveImage } from '../images/store.js';
import { readLogs, type LogOptions, type LogRecord } from '../monitor/logs.js';
import { sampleStats } from '../monitor/stats.js';
import { freePort } from '../runtime/ports.js';
import { isAlive, procRef, signalRef } from '../runtime/proc.js';
import { readExits, readShimState, requestStop, shimPath } from '../runtime/supervisor.js';
import type { ProcRef } from '../state/types.js';
import type { Bot } from './bot.js';
import { botContainerConfig } from './container.js';
import type { Backend, BotStatus } from './types.js';

interface LocalState {
  shim?: ProcRef;
  port?: number;
  restartBase?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** LOCAL_PROCESS: bots as plain host processes under the supervisor. */
export class LocalBackend implements Backend {
  constructor(private readonly engine: ContainerEngine) {}

  private dir(bot: Bot): string {
    return join(this.engine.settings.storageDir, 'bots', bot.name);
  }

  private state(bot: Bot): LocalState {
    return (this.engine.store.getBot(bot.name)?.state ?? {}) as LocalState;
  }

  private running(bot: Bot): boolean {
    return isAlive(this.state(bot).shim);
  }

  async run(bot: Bot): Promise<void> {
    if (this.running(bot)) return;
    const dir = this.dir(bot);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const image = resolveImage(this.engine.store, resolve(bot.script));
    if (image.kind !== 'path') throw new EngineError('INVALID_CONFIG', `Invalid bot ${bot.name}: a LOCAL_PROCESS bot needs a script or directory path, got \`${bot.script}\``);
    // the process runs where the bot lives: a script's directory, or the directory itself
    const home = statSync(image.source!).isDirectory() ? image.source! : dirname(image.source!);
    const argv = bot.args.length ? bot.args : inferCommand(image, home);
    if (!argv) throw new EngineError('INVALID_CONFIG', `Invalid bot ${bot.name}: no file to run in ${bot.script}; give args`);
    const cfg = botContainerConfig(bot);
    const port = bot.deployment.port === 'auto' ? await freePort() : bot.deployment.port;
    // no isolation: the caller's environment is inherited (the documented difference from containers)
    // codex32's own settings (the service's token among them) are not the bot's to see
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CODEX32_'))) as Record<string, string>;
    const env: Record<string, string> = { ...inherited, ...bot.env, ...(port ? { PORT: String(port) } : {}) };
    const r = bot.deployment.restart;
    const entries = [
      'isolation_level=0', `log=${join(dir, 'container.log')}`, `log_max_size=${10 * 1024 * 1024}`, 'log_max_files=3', `cwd=${home}`,
      `restart=${r.name}`, `restart_max=${r.maxRetries}`, 'backoff_initial_ms=100', 'backoff_max_ms=30000', 'backoff_reset_ms=10000',
      'stop_signal=15', 'stop_timeout=10', 'timeout_ms=0', `run_base=${readExits(dir).at(-1)?.run ?? 0}`,
      ...argv.map((a) => `arg=${a}`),
      ...Object.entries(env).filter(([k, v]) => !k.includes('=') && !v.includes('\0')).map(([k, v]) => `env=${k}=${v}`),
    ];
    if (cfg.health) {
      const h = cfg.health;
      entries.push(...h.cmd.map((a) => `health_arg=${a}`), `health_interval_ms=${h.intervalMs}`, `health_timeout_ms=${h.timeoutMs}`, `health_retries=${h.retries}`, `health_start_ms=${h.startPeriodMs}`, `health_restart=${h.restartOnUnhealthy ? 1 : 0}`);
    }
    for (const f of ['state', 'stop-request', 'events', 'health']) rmSync(join(dir, f), { force: true });
    writeFileSync(join(dir, 'spec'), entries.map((e) => e + '\0').join(''), { mode: 0o600 });
    const { execa } = await import('execa');
    const child = execa(shimPath(), ['run', dir], { detached: true, stdio: ['ignore', 'ignore', 'ignore', 'pipe'], reject: false, cleanup: false });
    const shim = child.pid ? procRef(child.pid) : undefined;
    let reply = '';
    for await (const c of child.stdio[3] as AsyncIterable<Buffer>) reply += c.toString();
    child.unref();
    const prev = this.state(bot);
    this.engine.store.setBotState(bot.name, { shim, port, restartBase: (prev.restartBase ?? 0) });
    if (!reply.startsWith('ok ')) throw new EngineError(/^err 127/.test(reply) ? 'COMMAND_NOT_FOUND' : 'RUNTIME_FAILED', `Cannot start bot ${bot.name}: ${reply.replace(/^err \d+ \d+ /, '').trim() || 'the supervisor failed'}`);
  }

  async stop(bot: Bot): Promise<void> {
    const st = this.state(bot);
    if (!isAlive(st.shim)) return;
    const dir = this.dir(bot);
    requestStop(dir, st.shim, { signal: 15, graceMs: 10_000, reason: 'stopped' });
    for (let i = 0; i < 300 && isAlive(st.shim); i++) await sleep(50);
    if (isAlive(st.shim)) signalRef(st.shim, 'SIGKILL');
  }

  async restart(bot: Bot): Promise<void> {
    await this.stop(bot);
    await this.run(bot);
  }

  async status(bot: Bot): Promise<BotStatus> {
    const st = this.state(bot);
    const dir = this.dir(bot);
    const base = { name: bot.name, type: 'LOCAL_PROCESS' as const };
    if (!existsSync(dir)) return { ...base, status: 'not-deployed', restarts: 0 };
    const shim = readShimState(dir);
    const last = readExits(dir).at(-1);
    const alive = isAlive(st.shim);
    const status = alive ? (shim?.phase ?? 'starting') : 'exited';
    return {
      ...base,
      status,
      pid: alive && shim?.phase === 'running' ? shim.init.pid : undefined,
      restarts: shim?.restarts ?? 0,
      exitCode: !alive ? last?.exitCode : undefined,
      startedAt: shim?.runStartedAt || undefined,
      health: shim && shim.health !== 'none' ? shim.health : undefined,
      url: st.port ? `http://127.0.0.1:${st.port}` : undefined,
      detail: alive ? undefined : last?.reason,
    };
  }

  logs(bot: Bot, options: LogOptions): AsyncGenerator<LogRecord> {
    return readLogs(join(this.dir(bot), 'container.log'), { ...options, done: options.done ?? (() => !this.running(bot)) });
  }

  async stats(bot: Bot) {
    const dir = this.dir(bot);
    const shim = readShimState(dir);
    if (!this.running(bot) || shim?.phase !== 'running') return undefined;
    const row = {
      id: `local-${bot.name}`, name: bot.name, status: 'running' as const, createdAt: 0,
      config: { limits: bot.deployment.limits } as never,
      state: { init: shim.init, startedAt: shim.runStartedAt, restartCount: shim.restarts, runBase: 0, restartBase: 0 },
    };
    return (await sampleStats([row]))[0];
  }

  async remove(bot: Bot): Promise<void> {
    await this.stop(bot);
    rmSync(this.dir(bot), { recursive: true, force: true });
  }
}
