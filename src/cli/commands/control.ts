// top, rename, pause, unpause and update: verbs that act on a running container in place.
import type { Command } from 'commander';
import { parseCpus, parsePositiveInt, parseRestart, parseSize } from '../../config/parse.js';
import { action, each, engineFor } from '../context.js';
import { table } from '../format.js';
import { out } from '../output.js';

/** Register top, rename, pause, unpause and update. */
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
      out(table(top.Titles, top.Processes));
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
      out(r + '\n');
    })));

  program
    .command('unpause')
    .description('thaw paused containers')
    .argument('<containers...>')
    .action(action((refs: string[], _o: object, cmd: Command) => each(refs, async (r) => {
      await engineFor(cmd).unpause(r);
      out(r + '\n');
    })));

  program
    .command('update')
    .description("change running containers' limits live (cgroup files) and for every later start")
    .option('-m, --memory <size>', 'memory limit, e.g. 256m')
    .option('--memory-swap <size>', 'memory plus swap, e.g. 512m; -1 for unlimited swap')
    .option('--cpus <n>', 'CPU limit, e.g. 0.5; 0 lifts it')
    .option('--cpu-shares <n>', 'relative CPU weight (2-262144, default 1024)')
    .option('--pids-limit <n>', 'maximum number of processes; 0 or -1 lifts it')
    .option('--restart <policy>', 'no | on-failure[:N] | always | unless-stopped (a stopped container only)')
    .argument('<containers...>')
    .action(action((refs: string[], o: { memory?: string; memorySwap?: string; cpus?: string; cpuShares?: string; pidsLimit?: string; restart?: string }, cmd: Command) => {
      const options = {
        memory: o.memory !== undefined ? parseSize('`--memory`', o.memory) : undefined,
        memorySwap: o.memorySwap === undefined ? undefined : o.memorySwap === '-1' ? -1 : parseSize('`--memory-swap`', o.memorySwap),
        cpus: o.cpus === undefined ? undefined : Number(o.cpus) === 0 ? 0 : parseCpus('`--cpus`', o.cpus),
        cpuShares: o.cpuShares !== undefined ? parsePositiveInt('`--cpu-shares`', o.cpuShares, 262_144, 2) : undefined,
        pids: o.pidsLimit === undefined ? undefined : Number(o.pidsLimit) <= 0 && /^-?\d+$/.test(o.pidsLimit) ? 0 : parsePositiveInt('`--pids-limit`', o.pidsLimit),
        restart: o.restart !== undefined ? parseRestart(o.restart) : undefined,
      };
      return each(refs, async (r) => {
        engineFor(cmd).update(r, options);
        out(r + '\n');
      });
    }));
}
