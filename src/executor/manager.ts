// The bot manager `codex32 serve` runs: a reconcile every few seconds, so a lost supervisor is repaired
// without anyone typing. Nothing a bot file promises depends on it: memory, cron and watch restarts and
// the out_file/error_file copies are kept by each bot's own supervisor (keep.ts, native/keep.c).
import { statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { AdaptiveExecutor } from './adaptive.js';
import type { Bot } from './bot.js';

/** The directory a bot's code lives in. */
export function botHome(bot: Bot): string {
  if (!bot.script) return process.cwd(); // an image bot: its code is in the image
  try {
    return statSync(bot.script).isDirectory() ? bot.script : dirname(bot.script);
  } catch {
    return dirname(bot.script);
  }
}

/** Runs beside the service: the reconcile, on one timer. */
export class BotManager {
  private timer?: NodeJS.Timeout;
  private busy = false;

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

  /** Stop the timer. */
  stop(): void {
    clearInterval(this.timer);
  }

  /** One pass; a pass still running makes the next one skip. */
  async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      await this.ex.engine.list(); // reconcile: exits become events, lost container supervisors are repaired
      await this.ex.restore(); // bots that should run and do not (a lost LOCAL_PROCESS supervisor among them)
      // a look at each bot re-arms its supervisor's cron restarts when they run short
      for (const b of this.ex.list()) await this.ex.status(b.name).catch(() => undefined);
    } finally {
      this.busy = false;
    }
  }
}
