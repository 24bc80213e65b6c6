// What a bot file promises beyond its restart policy (memory, cron and watch restarts, the out_file /
// error_file copies), as the supervisor's part of the bot's configuration: the bot's own supervisor
// keeps them, so they hold with no other codex32 process running.
import { mkdirSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { KeepPromises } from '../config/schema.js';
import type { Bot } from './bot.js';
import { botHome } from './manager.js';

/** Never watched: dependencies, VCS data and log files (PM2's usual ignores), as fnmatch(3) globs. */
export const ALWAYS_IGNORED = ['node_modules/*', '*/node_modules/*', '.git/*', '*/.git/*', '*.log', '__pycache__/*', '*/__pycache__/*'];

const DAYJS: Record<string, string> = {
  YYYY: '%Y', YY: '%y', MM: '%m', M: '%-m', DD: '%d', D: '%-d', HH: '%H', H: '%-H',
  mm: '%M', m: '%-M', ss: '%S', s: '%-S', SSS: '%L', ZZ: '%z', Z: '%:z',
};

/** A day.js format (PM2's log_date_format) as the supervisor's strftime(3) form (plus %L and %:z); text in [brackets] is kept. */
export function dayjsToStrftime(fmt: string): string {
  return fmt.replace(/\[([^\]]*)\]|YYYY|YY|SSS|MM|M|DD|D|HH|H|mm|m|ss|s|ZZ|Z|%|[^[\]YMDHmsSZ%]+|./g, (t, lit: string | undefined) =>
    lit !== undefined ? lit.replaceAll('%', '%%') : t === '%' ? '%%' : DAYJS[t] ?? t);
}

/**
 * A PM2 (picomatch) ignore glob as the fnmatch(3) globs the supervisor matches: braces expanded
 * (`*.{log,tmp}`), and a leading `**` with its slash also matching nothing, as picomatch's does (the
 * glob for `*.tmp` at any depth ignores `a.tmp` too). fnmatch's `*` crosses `/` already, so `**` needs
 * nothing more.
 */
export function fnmatchGlobs(glob: string): string[] {
  const brace = /\{([^{}]*,[^{}]*)\}/.exec(glob);
  if (brace) return brace[1].split(',').flatMap((alt) => fnmatchGlobs(glob.slice(0, brace.index) + alt + glob.slice(brace.index + brace[0].length)));
  return glob.startsWith('**/') ? [glob, ...fnmatchGlobs(glob.slice(3))] : [glob];
}

/** Where a bot's copy of a stream goes: a relative path is taken from the bot's directory. */
function copyPath(bot: Bot, file: string | undefined): string | undefined {
  return file === undefined ? undefined : isAbsolute(file) ? file : resolve(botHome(bot), file);
}

/** The promises of a bot, for the supervisor's spec; undefined when it makes none. */
export function botKeep(bot: Bot): KeepPromises | undefined {
  const d = bot.deployment;
  const home = botHome(bot);
  const k: KeepPromises = {
    ...(d.memory_restart ? { memoryRestart: d.memory_restart } : {}),
    ...(d.cron_restart ? { cronRestart: d.cron_restart } : {}),
    ...(bot.watch !== false && bot.script
      ? {
          watch: {
            paths: bot.watch === true ? [home] : bot.watch.map((p) => (isAbsolute(p) ? p : resolve(home, p))),
            base: home,
            ignore: [...new Set([...ALWAYS_IGNORED, ...bot.watch_ignore.flatMap(fnmatchGlobs)])],
            delayMs: Math.round(bot.watch_delay * 1000),
          },
        }
      : {}),
    ...(bot.out_file ? { copyOut: copyPath(bot, bot.out_file) } : {}),
    ...(bot.error_file ? { copyErr: copyPath(bot, bot.error_file) } : {}),
    ...(bot.log_date_format && (bot.out_file || bot.error_file) ? { copyDateFormat: dayjsToStrftime(bot.log_date_format) } : {}),
  };
  return Object.keys(k).length ? k : undefined;
}

/** Make the directories of a bot's log copies, which the supervisor opens but does not create. */
export function prepareKeep(k: KeepPromises | undefined): void {
  for (const f of [k?.copyOut, k?.copyErr]) if (f) mkdirSync(dirname(f), { recursive: true });
}
