// top, rename, pause, unpause and update: verbs that act on a running container in place.
import type { Command } from 'commander';
import { reportError } from '../errors.js';
import { action, engineFor } from '../context.js';
import { table } from '../format.js';

/** Apply fn to each ref; report each failure and keep going, like docker (exit 125 if any failed). */
async function each(refs: string[], fn: (ref: string) => Promise<void>): Promise<void> {
  let failed = 0;
  for (const ref of refs) {
    try {
      await fn(ref);
    } catch (e) {
      failed = reportError(e);
    }
  }
  if (failed) process.exitCode = failed;
}

/** Register top, rename, pause, unpause (and update, from ./update.js). */
export function registerControl(program: Command): void {
  program
    .command('top')
    .description("list a running container's processes (ps options after the name, default -ef)")
    .argument('<container>')
    .argument('[ps-options...]')
    .allowUnknownOption()
    .passThroughOptions()
    .action(action(async (ref: string, psArgs: string[], _o: object, cmd: Command) => {
      const top = await engineFor(cmd).top(ref, psArgs.length ? psArgs.join(' ') : undefined);
      process.stdout.write(table(top.Titles, top.Processes));
    }));

  program
    .command('rename')
    .description('give a container a new name')
    .argument('<container>')
    .argument('<new-name>')
    .action(action((ref: string, name: string, _o: object, cmd: Command) => engineFor(cmd).rename(ref, name)));

  program
    .command('pause')
    .description('freeze every process of running containers')
    .argument('<containers...>')
    .action(action((refs: string[], _o: object, cmd: Command) => each(refs, async (r) => {
      await engineFor(cmd).pause(r);
      process.stdout.write(r + '\n');
    })));

  program
    .command('unpause')
    .description('thaw paused containers')
    .argument('<containers...>')
    .action(action((refs: string[], _o: object, cmd: Command) => each(refs, async (r) => {
      await engineFor(cmd).unpause(r);
      process.stdout.write(r + '\n');
    })));
}
