// A LOCAL_PROCESS bot's command fixed once, at apply: its program as an absolute path found on the PATH of
// whoever applied it, and that PATH recorded in the bot's environment, so a later restart from a shell
// with another PATH (or from systemd, or serve) runs the same interpreter, as PM2 keeps the environment it
// started an app with.
import { accessSync, constants, statSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { inferCommand, resolveImage } from '../images/store.js';
import type { StateStore } from '../state/store.js';
import type { Bot, BotInput } from './bot.js';

/** The absolute path of the executable `cmd` names on `path`, or undefined. */
export function onPath(cmd: string, path: string): string | undefined {
  for (const dir of path.split(':')) {
    if (!dir || !isAbsolute(dir)) continue; // a relative PATH entry would depend on where the bot runs
    const file = join(dir, cmd);
    try {
      accessSync(file, constants.X_OK);
      if (statSync(file).isFile()) return file;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/** The input with its command pinned (or the problem, naming the bot and what to do). Other types are unchanged. */
export function pinCommand(store: StateStore, input: BotInput, bot: Bot, path = process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin'): { input: BotInput; issue?: string } {
  if (bot.deployment.type !== 'LOCAL_PROCESS' || !bot.script) return { input };
  const PATH = bot.env.PATH ?? path;
  let argv = bot.args;
  if (!argv.length) {
    const image = resolveImage(store, bot.script);
    if (image.kind !== 'path' || !image.source) return { input };
    const home = statSync(image.source).isDirectory() ? image.source : dirname(image.source);
    argv = inferCommand(image, home) ?? [];
    if (!argv.length) return { input }; // launch reports the missing file to run with its own words
  }
  const [cmd, ...rest] = argv;
  if (cmd.includes('/')) return { input: { ...input, args: argv, env: { ...input.env, PATH } } };
  const abs = onPath(cmd, PATH);
  if (!abs) return { input, issue: `bot ${bot.name}: args: \`${cmd}\` is not on the PATH it runs with (${PATH}); install it, give its absolute path, or set env.PATH` };
  return { input: { ...input, args: [abs, ...rest], env: { ...input.env, PATH } } };
}
