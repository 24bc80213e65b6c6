// The bot manager `codex32 serve` runs: a reconcile every few seconds (a lost supervisor or a missed
// restart is repaired without anyone typing), and the PM2 restart strategies that need a watcher:
// max_memory_restart, cron_restart, watch, plus the out_file/error_file copies.
import { watch, type FSWatcher, statSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import picomatch from 'picomatch';
import type { AdaptiveExecutor } from './adaptive.js';
import type { Bot } from './bot.js';
import { copyRecord } from './logcopy.js';
import { cronNext } from './schedule.js';

/** Never watched: dependencies, VCS data and log files (PM2's usual ignores). */
const ALWAYS_IGNORED = ['**/node_modules/**', 'node_modules/**', '**/.git/**', '.git/**', '**/*.log', '**/__pycache__/**'];

interface Watch {
  key: string;
  watchers: FSWatcher[];
  timer?: NodeJS.Timeout;
}

/** The directory a bot's code lives in. */
export function botHome(bot: Bot): string {
  if (!bot.script) return process.cwd(); // an image bot: its code is in the image
  try {
    return statSync(bot.script).isDirectory() ? bot.script : dirname(bot.script);
  } catch {
    return dirname(bot.script);
  }
}

/** Does a bot need the manager for something (so `bot apply` can say that `serve` carries it out)? */
export function needsManager(bot: Bot): boolean {
  return Boolean(bot.watch !== false || bot.deployment.cron_restart || bot.deployment.memory_restart || bot.out_file || bot.error_file);
}

/** Runs beside the service: reconcile, restart strategies and log copies, on one timer. */
export class BotManager {
  private timer?: NodeJS.Timeout;
  private busy = false;
  private readonly cron = new Map<string, { pattern: string; next?: number }>();
  private readonly watches = new Map<string, Watch>();
  private readonly copied = new Map<string, { ms: number; lineStart: boolean }>();

  constructor(
    private readonly ex: AdaptiveExecutor,
    private readonly intervalMs = 3000,
  ) {}

  /** Start the timer (the first pass runs at once). */
  start(): void {
    void this.tick();
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  /** Stop the timer and every file watcher. */
  stop(): void {
    clearInterval(this.timer);
    for (const w of this.watches.values()) this.closeWatch(w);
    this.watches.clear();
  }

  /** One pass; a pass still running makes the next one skip. */
  async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      await this.ex.engine.list(); // reconcile: exits become events, lost container supervisors are repaired
      await this.ex.restore(); // bots that should run and do not (a lost LOCAL_PROCESS supervisor among them)
      const bots = this.ex.list();
      this.syncWatches(bots);
      for (const b of bots) await this.strategies(b).catch(() => undefined);
    } finally {
      this.busy = false;
    }
  }

  private async strategies(bot: Bot): Promise<void> {
    if (bot.out_file || bot.error_file) await this.copyLogs(bot);
    if (this.ex.intent(bot.name).userStopped) return;
    const d = bot.deployment;
    if (d.cron_restart) {
      const now = Date.now();
      let c = this.cron.get(bot.name);
      if (!c || c.pattern !== d.cron_restart) this.cron.set(bot.name, (c = { pattern: d.cron_restart, next: cronNext(d.cron_restart, now) }));
      if (c.next !== undefined && now >= c.next) {
        c.next = cronNext(d.cron_restart, now);
        await this.restart(bot, 'cron_restart', { pattern: d.cron_restart });
      }
    }
    if (d.memory_restart) {
      const s = await this.ex.stats(bot.name);
      const used = s ? (s.memUsage ?? s.rss) : 0;
      if (used > d.memory_restart) await this.restart(bot, 'memory_restart', { memory: used, threshold: d.memory_restart });
    }
  }

  private async restart(bot: Bot, reason: string, attrs: Record<string, unknown>): Promise<void> {
    const s = await this.ex.status(bot.name);
    if (s.status !== 'running') return;
    this.ex.engine.store.insertEvent({ time: Date.now(), type: 'restart', name: bot.name, attrs: { bot: bot.name, reason, ...attrs } });
    await this.ex.autoRestart(bot.name, reason);
  }

  /** Append what the bot wrote since the last pass to its out_file / error_file. */
  private async copyLogs(bot: Bot): Promise<void> {
    // where the copy stands is kept with the bot, so a serve restart neither repeats nor skips lines
    const row = this.ex.engine.store.getBot(bot.name);
    const seen = this.copied.get(bot.name) ?? { ms: (row?.state as { copiedMs?: number })?.copiedMs ?? row?.updatedAt ?? Date.now(), lineStart: true };
    this.copied.set(bot.name, seen);
    const start = seen.ms;
    for await (const rec of this.ex.logs(bot.name, { since: seen.ms })) {
      if (rec.ms <= start) continue;
      copyRecord(rec, { out: bot.out_file, err: bot.error_file, dateFormat: bot.log_date_format }, seen.lineStart);
      seen.lineStart = rec.full;
      seen.ms = rec.ms;
    }
    if (seen.ms !== start) this.ex.setIntent(bot.name, { copiedMs: seen.ms });
  }

  private syncWatches(bots: Bot[]): void {
    const wanted = new Map(bots.filter((b) => b.watch !== false).map((b) => [b.name, b]));
    for (const [name, w] of this.watches)
      if (!wanted.has(name) || w.key !== watchKey(wanted.get(name)!)) {
        this.closeWatch(w);
        this.watches.delete(name);
      }
    for (const [name, bot] of wanted) if (!this.watches.has(name)) this.watches.set(name, this.openWatch(bot));
  }

  private openWatch(bot: Bot): Watch {
    const home = botHome(bot);
    const roots = bot.watch === true ? [home] : (bot.watch as string[]).map((p) => (isAbsolute(p) ? p : resolve(home, p)));
    const ignored = picomatch([...ALWAYS_IGNORED, ...bot.watch_ignore], { dot: true });
    const own = new Set([bot.out_file, bot.error_file].filter(Boolean));
    const w: Watch = { key: watchKey(bot), watchers: [] };
    for (const root of roots) {
      try {
        const watcher = watch(root, { recursive: true }, (_event, file) => {
          const full = file ? resolve(statSafeDir(root), String(file)) : root;
          const rel = relative(home, full);
          if (own.has(full) || (rel && ignored(rel))) return;
          clearTimeout(w.timer);
          w.timer = setTimeout(() => void this.onChange(bot.name, rel), bot.watch_delay * 1000);
        });
        watcher.on('error', () => undefined); // a watched path removed: nothing to restart for
        w.watchers.push(watcher);
      } catch {
        /* a path that does not exist yet is not watched */
      }
    }
    return w;
  }

  private async onChange(name: string, file: string): Promise<void> {
    try {
      const bot = this.ex.get(name);
      if (this.ex.intent(name).userStopped) return; // a stopped bot stays stopped, changes or not
      await this.restart(bot, 'watch', { file });
    } catch {
      /* removed meanwhile */
    }
  }

  private closeWatch(w: Watch): void {
    clearTimeout(w.timer);
    for (const x of w.watchers) x.close();
  }
}

const watchKey = (b: Bot) => JSON.stringify([b.script, b.watch, b.watch_ignore, b.watch_delay, b.out_file, b.error_file]);
const statSafeDir = (p: string) => {
  try {
    return statSync(p).isDirectory() ? p : dirname(p);
  } catch {
    return p;
  }
};
