// start, stop, restart, kill, rm and wait: each acts on one or more containers by name or id.
import type { Command } from 'commander';
import { parseSeconds, parseSignal } from '../../config/parse.js';
import { EngineError } from '../../errors.js';
import { action, each, engineFor } from '../context.js';
import { out } from '../output.js';

/** Register the lifecycle commands. */
export function registerLifecycle(program: Command): void {
  program
    .command('start')
    .description('start stopped containers (--all: every one whose restart policy says it should run)')
    .option('-a, --all', 'start every container whose restart policy asks for it, e.g. after a host restart')
    .argument('[containers...]')
    .action(action(async (refs: string[], o: { all?: boolean }, cmd: Command) => {
      if (o.all) {
        for (const n of await engineFor(cmd).startAll()) out(n + '\n');
        return;
      }
      if (!refs.length) throw new EngineError('INVALID_CONFIG', 'Expected at least one container, or --all');
      await each(refs, async (r) => {
        await engineFor(cmd).start(r);
        out(r + '\n');
      });
    }));

  program
    .command('stop')
    .description('stop containers: the stop signal, then SIGKILL after the timeout')
    .option('-t, --time <sec>', 'seconds to wait before SIGKILL')
    .argument('<containers...>')
    .action(action(async (refs: string[], o: { time?: string }, cmd: Command) => {
      const timeout = o.time !== undefined ? parseSeconds('`-t`', o.time) : undefined;
      await each(refs, async (r) => {
        await engineFor(cmd).stop(r, { timeout });
        out(r + '\n');
      });
    }));

  program
    .command('restart')
    .description('stop then start containers')
    .option('-t, --time <sec>', 'seconds to wait before SIGKILL')
    .argument('<containers...>')
    .action(action(async (refs: string[], o: { time?: string }, cmd: Command) => {
      const timeout = o.time !== undefined ? parseSeconds('`-t`', o.time) : undefined;
      await each(refs, async (r) => {
        await engineFor(cmd).restart(r, { timeout });
        out(r + '\n');
      });
    }));

  program
    .command('kill')
    .description('send a signal to containers (default KILL)')
    .option('-s, --signal <sig>', 'signal name or number', 'KILL')
    .argument('<containers...>')
    .action(action(async (refs: string[], o: { signal: string }, cmd: Command) => {
      const sig = parseSignal(o.signal);
      await each(refs, async (r) => {
        await engineFor(cmd).kill(r, sig);
        out(r + '\n');
      });
    }));

  program
    .command('rm')
    .alias('remove')
    .description('remove containers and their files')
    .option('-f, --force', 'stop running containers first')
    .option('-v, --volumes', 'remove their anonymous volumes too (named volumes stay)')
    .argument('<containers...>')
    .action(action(async (refs: string[], o: { force?: boolean; volumes?: boolean }, cmd: Command) => each(refs, async (r) => {
      await engineFor(cmd).remove(r, { force: o.force, volumes: o.volumes });
      out(r + '\n');
    })));

  program
    .command('wait')
    .description('wait for containers to stop; print each exit code')
    .argument('<containers...>')
    .action(action(async (refs: string[], _o: object, cmd: Command) => each(refs, async (r) => {
      out(`${await engineFor(cmd).wait(r)}\n`);
    })));
}
