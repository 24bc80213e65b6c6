// What every deployment backend offers: one interface, three ways to run a bot.
import type { LogOptions, LogRecord } from '../monitor/logs.js';
import type { StatsSample } from '../monitor/stats.js';
import type { Bot, DeploymentType } from './bot.js';

export interface BotStatus {
  name: string;
  type: DeploymentType;
  /** running | restarting | stopping | exited | created | not-deployed | deployed (kubernetes, no live view) */
  status: string;
  pid?: number;
  /** every restart: the supervisor's by policy, and those asked for (by the user, memory, cron, watch) */
  restarts: number;
  /** the restarts by reason: `policy` (the supervisor's after an exit), `user`, `memory_restart`, `cron_restart`, `watch`... */
  restartReasons?: Record<string, number>;
  exitCode?: number;
  startedAt?: number;
  health?: string;
  url?: string;
  containerId?: string;
  detail?: string;
}

export interface Backend {
  run(bot: Bot): Promise<void>;
  stop(bot: Bot): Promise<void>;
  restart(bot: Bot): Promise<void>;
  status(bot: Bot): Promise<BotStatus>;
  logs(bot: Bot, options: LogOptions): AsyncGenerator<LogRecord>;
  stats(bot: Bot): Promise<StatsSample | undefined>;
  remove(bot: Bot): Promise<void>;
}
