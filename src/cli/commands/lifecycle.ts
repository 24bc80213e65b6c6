// start, stop, restart, kill, rm and wait: each acts on one or more containers by name or id.
import type { Command } from 'commander';
import { parseSeconds, parseSignal } from '../../config/parse.js';
import { EngineError } from '../../errors.js';
import { action, each, engineFor } from '../context.js';
import type { ContainerEngine } from '../../engine/engine.js';
import { followToExit } from '../follow.js';
import { out } from '../output.js';
import { requireTerminal } from '../terminal.js';

/** Register the lifecycle commands. */
export function registerLifecycle(program: Command): void {
  program
    .command('start')
    .description('start stopped containers; -a follows one in the foreground (--all: every one whose restart policy says it should run)')
    .option('-a, --attach', "follow the container's output until it exits and exit with its code, as docker start -a")
    .option('-i, --interactive', "with -a: the container's stdin from this terminal (a container created with -i)")
    .option('--all', 'start every container whose restart policy asks for it, e.g. after a host restart')
    .argument('[containers...]')
    .action(action(async (refs: string[], o: { all?: boolean; attach?: boolean; interactive?: boolean }, cmd: Command) => {
      const engine = engineFor(cmd);
      if (o.all) {
        if (refs.length || o.attach || o.interactive) throw new EngineError('INVALID_CONFIG', 'Expected --all alone: it starts every container whose restart policy asks for it');
        for (const n of await engine.startAll()) out(n + '\n');
        return;
      }
      if (!refs.length) throw new EngineError('INVALID_CONFIG', 'Expected at least one container, or --all');
      if (o.attach || o.interactive) {
        process.exitCode = await startForeground(engine, refs, !!o.interactive);
        return;
      }
      await each(refs, async (r) => {
        await engine.start(r);
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

/** start -a: one container started and followed until it exits; its exit code (0 after a detach). */
async function startForeground(engine: ContainerEngine, refs: string[], interactive: boolean): Promise<number> {
  if (refs.length !== 1) throw new EngineError('INVALID_CONFIG', `Expected one container with -a or -i (its output is followed until it exits), got ${refs.length}`);
  const info = await engine.inspect(refs[0]);
  const term = { tty: info.Config.Tty, interactive: info.Config.OpenStdin };
  if (interactive && !term.interactive)
    throw new EngineError('INVALID_CONFIG', `Expected a container created with -i for start -i: ${info.Name.replace(/^\//, '')} has no open stdin. Use start -a to follow its output.`);
  // with a terminal or open stdin the attach socket carries the run's output; else the log from this start on
  const attached = term.tty || term.interactive;
  if (attached) requireTerminal(term);
  const since = Date.now();
  const session = attached ? await engine.startAttached(info.Id) : (await engine.start(info.Id), undefined);
  return (await followToExit(engine, info.Id, { session, term, since })) ?? 0;
}
