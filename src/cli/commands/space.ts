// diff, history and container prune: what a container changed, how an image was made, and removing
// stopped containers with docker's filters.
import type { Command } from 'commander';
import { collectFilter } from '../filters.js';
import { action, engineFor } from '../context.js';
import { humanDuration, humanSize, table } from '../format.js';
import { out } from '../output.js';

/** Register diff, history and container prune. */
export function registerSpace(program: Command): void {
  program
    .command('diff')
    .description("list a container's changes to its image: A added, C changed, D deleted")
    .argument('<container>')
    .action(action(async (ref: string, _o: object, cmd: Command) => {
      const kind = ['C', 'A', 'D'];
      out((await engineFor(cmd).diff(ref)).map((c) => `${kind[c.Kind]} ${c.Path}\n`).join(''));
    }));

  program
    .command('history')
    .description("show an image's steps, newest first")
    .option('--no-trunc', 'do not shorten ids and commands')
    .option('-q, --quiet', 'only image ids')
    .argument('<image>')
    .action(action((ref: string, o: { trunc: boolean; quiet?: boolean }, cmd: Command) => {
      const steps = engineFor(cmd).image.history(ref);
      const id = (s: string) => (s.startsWith('sha256:') && o.trunc ? s.slice(7, 19) : s);
      if (o.quiet) return void out(steps.map((s) => id(s.id) + '\n').join(''));
      const now = Date.now();
      const by = (s: string) => (o.trunc && s.length > 45 ? s.slice(0, 44) + '…' : s);
      out(table(['IMAGE', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT'], steps.map((s) => [id(s.id), s.created ? `${humanDuration(now - s.created)} ago` : 'N/A', by(s.createdBy), humanSize(s.size), s.comment])));
    }));

  const container = program.command('container').description('manage containers');
  container
    .command('prune')
    .description('remove stopped containers (filters: until=, label=, label!=)')
    .option('-f, --force', 'do not ask (codex32 never asks)')
    .option('--filter <k=v>', 'until=24h, label=k or label=k=v, label!=k', collectFilter)
    .action(action(async (o: { filter?: Record<string, string[]> }, cmd: Command) => {
      const r = await engineFor(cmd).pruneContainers(o.filter);
      if (r.containers.length) out('Deleted Containers:\n' + r.containers.map((n) => n + '\n').join('') + '\n');
      out(`Total reclaimed space: ${humanSize(r.reclaimed)}\n`);
    }));
}
