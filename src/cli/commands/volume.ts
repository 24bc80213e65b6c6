// The `volume` group: create, ls, inspect, rm and prune of named volumes.
import type { Command } from 'commander';
import { EngineError, expected, isEngineError } from '../../errors.js';
import type { VolumeFilters } from '../../volumes/service.js';
import { action, engineFor } from '../context.js';
import { renderTemplate, table } from '../format.js';
import { formatRows } from '../template.js';
import { out } from '../output.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** KEY=VALUE pairs of repeated flags as a record (a bare KEY is KEY=''). */
function pairs(list: string[] = []): Record<string, string> {
  return Object.fromEntries(list.map((l) => (l.includes('=') ? [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] : [l, ''])));
}

/** docker's --filter KEY=VALUE for volumes: name, label, dangling, driver. */
function filters(list: string[] = []): VolumeFilters {
  const found: VolumeFilters = {};
  for (const f of list) {
    const i = f.indexOf('=');
    const [k, v] = i < 0 ? [f, ''] : [f.slice(0, i), f.slice(i + 1)];
    if (k === 'name' || k === 'label' || k === 'driver') (found[k] ??= []).push(v);
    else if (k === 'dangling' && ['true', '1', 'false', '0'].includes(v)) found.dangling = v === 'true' || v === '1';
    else throw expected('`--filter`', 'name=TEXT, label=KEY[=VALUE], dangling=true|false or driver=local', f);
  }
  return found;
}

const human = (n: number) => (n < 1024 ? `${n}B` : n < 1024 ** 2 ? `${(n / 1024).toFixed(1)}kB` : `${(n / 1024 ** 2).toFixed(1)}MB`);

/** Register the volume commands. */
export function registerVolume(program: Command): void {
  const volume = program.command('volume').description('manage named volumes (data that outlives containers)');

  volume
    .command('create')
    .description('create a volume (a generated name when none); prints its name')
    .argument('[name]')
    .option('-d, --driver <driver>', 'the volume driver (only local)', 'local')
    .option('-o, --opt <k=v>', 'driver option: type=tmpfs device=tmpfs o=size=64m, or type=none o=bind device=/host/dir (repeatable)', collect)
    .option('--label <k=v>', 'metadata label (repeatable)', collect)
    .action(action((name: string | undefined, o: { driver: string; opt?: string[]; label?: string[] }, cmd: Command) => {
      const v = engineFor(cmd).volume.create(name, { driver: o.driver, driverOpts: pairs(o.opt), labels: pairs(o.label) });
      out(v.Name + '\n');
    }));

  volume
    .command('ls')
    .alias('list')
    .description('list volumes: DRIVER, VOLUME NAME')
    .option('-q, --quiet', 'only names')
    .option('-f, --filter <k=v>', 'name=TEXT, label=KEY[=VALUE], dangling=true|false, driver=local (repeatable)', collect)
    .option('--format <template>', 'Go-template such as {{.Name}}, `table TEMPLATE`, or json')
    .action(action((o: { quiet?: boolean; filter?: string[]; format?: string }, cmd: Command) => {
      const vols = engineFor(cmd).volume.list(filters(o.filter));
      if (o.format) return void out(formatRows(o.format, vols, { Name: 'VOLUME NAME', Driver: 'DRIVER', Scope: 'SCOPE', Mountpoint: 'MOUNTPOINT', Labels: 'LABELS', CreatedAt: 'CREATED AT' }, '{{.Driver}}\t{{.Name}}'));
      if (o.quiet) return void out(vols.map((v) => v.Name + '\n').join(''));
      out(table(['DRIVER', 'VOLUME NAME'], vols.map((v) => [v.Driver, v.Name])));
    }));

  volume
    .command('inspect')
    .description('describe volumes (docker volume inspect shape)')
    .option('-f, --format <template>', 'Go-template such as {{.Mountpoint}}')
    .argument('<names...>')
    .action(action((names: string[], o: { format?: string }, cmd: Command) => {
      const docs = names.map((n) => engineFor(cmd).volume.inspect(n));
      if (o.format) for (const v of docs) out(renderTemplate(o.format, v) + '\n');
      else out(JSON.stringify(docs, null, 2) + '\n');
    }));

  volume
    .command('rm')
    .alias('remove')
    .description('remove volumes and their data (refused while a container uses one)')
    .option('-f, --force', 'no error for a volume that does not exist')
    .argument('<names...>')
    .action(action(async (names: string[], o: { force?: boolean }, cmd: Command) => {
      // as docker: every name is tried, each refusal reported, and the command fails if any was
      let failed: EngineError | undefined;
      for (const n of names) {
        try {
          await engineFor(cmd).volume.remove(n, { force: o.force });
          out(n + '\n');
        } catch (e) {
          if (!isEngineError(e) || names.length === 1) throw e;
          process.stderr.write(`codex32: ${e.message} [${e.code}]\n`);
          failed = e;
        }
      }
      if (failed) process.exitCode = 125;
    }));

  volume
    .command('prune')
    .description('remove unused anonymous volumes (-a: every unused volume)')
    .option('-a, --all', 'also named volumes no container uses')
    .option('-f, --force', 'do not ask (codex32 never asks)')
    .option('--filter <k=v>', 'label=KEY[=VALUE] (repeatable)', collect)
    .action(action(async (o: { all?: boolean; filter?: string[] }, cmd: Command) => {
      const f = filters(o.filter);
      if (f.name || f.dangling !== undefined || f.driver) throw expected('`volume prune --filter`', 'label=KEY[=VALUE]', o.filter!.join(' '));
      const { deleted, spaceReclaimed } = await engineFor(cmd).volume.prune({ all: o.all, label: f.label });
      if (deleted.length) out(`Deleted Volumes:\n${deleted.map((d) => d + '\n').join('')}\n`);
      out(`Total reclaimed space: ${human(spaceReclaimed)}\n`);
    }));
}
