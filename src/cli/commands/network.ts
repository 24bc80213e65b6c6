// `codex32 network create|ls|inspect|rm|connect|disconnect|prune`: user networks, in docker's words.
import type { Command } from 'commander';
import type { ContainerEngine } from '../../engine/engine.js';
import { filterNetworks, listed, networkDoc } from '../../engine/netfilter.js';
import { collect, parseFilterFlags } from '../options.js';
import { EngineError } from '../../errors.js';
import { action, engineFor } from '../context.js';
import { renderTemplate, table } from '../format.js';
import { formatRows } from '../template.js';
import { out } from '../output.js';

function labels(terms: string[] = []): Record<string, string> {
  return Object.fromEntries(terms.map((l) => (l.includes('=') ? [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] : [l, ''])));
}

function list(engine: ContainerEngine, o: { quiet?: boolean; filter?: string[]; noTrunc?: boolean; format?: string }): void {
  const nets = filterNetworks(listed(engine.network.list(), { bridge: 'private', host: 'host', none: 'none' }), parseFilterFlags(o.filter ?? []));
  const id = (s: string) => (o.noTrunc ? s : s.slice(0, 12));
  if (o.quiet) return void out(nets.map((n) => id(n.id) + '\n').join(''));
  const docs = nets.map((n) => ({ ID: id(n.id), Name: n.name, Driver: n.driver, Scope: 'local', Labels: n.labels }));
  if (o.format) return void out(formatRows(o.format, docs, { ID: 'NETWORK ID', Name: 'NAME', Driver: 'DRIVER', Scope: 'SCOPE', Labels: 'LABELS' }, '{{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}'));
  out(table(['NETWORK ID', 'NAME', 'DRIVER', 'SCOPE'], nets.map((n) => [id(n.id), n.name, n.driver, 'local'])));
}

/** Register the network commands. */
export function registerNetwork(program: Command): void {
  const net = program.command('network').description('user networks: containers on one reach each other and resolve each other\'s names');
  net
    .command('create')
    .description('create a user network; prints its id')
    .argument('<name>')
    .option('-d, --driver <driver>', 'bridge (the only one)')
    .option('--subnet <cidr>', 'the addresses its containers get, e.g. 172.28.0.0/16')
    .option('--gateway <ip>', 'recorded for inspect (containers route through the host)')
    .option('--internal', 'no way out: its containers reach only each other')
    .option('--attachable', 'accepted for docker compatibility: every codex32 network is attachable')
    .option('--label <K=V>', 'metadata label (repeatable)', collect)
    .option('-o, --opt <K=V>', 'driver option (none is supported; each is refused by name)', collect)
    .action(action((name: string, o: { driver?: string; subnet?: string; gateway?: string; internal?: boolean; attachable?: boolean; label?: string[]; opt?: string[] }, cmd: Command) => {
      const n = engineFor(cmd).network.create({ name, driver: o.driver, subnet: o.subnet, gateway: o.gateway, internal: o.internal, attachable: o.attachable, labels: labels(o.label), options: labels(o.opt) });
      out(n.id + '\n');
    }));
  net
    .command('ls')
    .alias('list')
    .description('list networks: the predefined private, host and none, and the user networks')
    .option('-q, --quiet', 'only ids')
    .option('-f, --filter <K=V>', 'driver, id, label, name, scope, type (custom|builtin), dangling (repeatable)', collect)
    .option('--no-trunc', 'full ids')
    .option('--format <template>', 'Go-style template over .ID .Name .Driver .Scope')
    .action(action((o: { quiet?: boolean; filter?: string[]; trunc?: boolean; format?: string }, cmd: Command) => list(engineFor(cmd), { ...o, noTrunc: o.trunc === false })));
  net
    .command('inspect')
    .description('networks as JSON, in docker\'s shape')
    .argument('<network...>')
    .option('-f, --format <template>', 'Go-style template over the document')
    .action(action((refs: string[], o: { format?: string }, cmd: Command) => {
      const docs = refs.map((r) => networkDoc(engineFor(cmd).network.inspect(r)));
      if (o.format) out(docs.map((d) => renderTemplate(o.format!, d) + '\n').join(''));
      else out(JSON.stringify(docs, null, 4) + '\n');
    }));
  net
    .command('rm')
    .alias('remove')
    .description('remove networks no running container is on')
    .argument('<network...>')
    .action(action(async (refs: string[], _o: object, cmd: Command) => {
      let failed: unknown;
      for (const r of refs) {
        try {
          out((await engineFor(cmd).network.remove(r)).name + '\n');
        } catch (e) {
          failed = e; // docker goes on with the rest and fails at the end
          process.stderr.write(`codex32: ${(e as Error).message}\n`);
        }
      }
      if (failed) throw failed instanceof EngineError ? new EngineError(failed.code, 'not every network was removed (see above)') : failed;
    }));
  net
    .command('connect')
    .description('put a container on a network (a running one is reachable and named at once)')
    .argument('<network>')
    .argument('<container>')
    .option('--alias <name>', 'another name it answers to on this network (repeatable)', collect)
    .action(action((network: string, container: string, o: { alias?: string[] }, cmd: Command) => engineFor(cmd).network.connect(network, container, o.alias ?? [])));
  net
    .command('disconnect')
    .description('take a container off a network')
    .argument('<network>')
    .argument('<container>')
    .option('-f, --force', 'accepted for docker compatibility (a disconnect never waits)')
    .action(action((network: string, container: string, _o: object, cmd: Command) => engineFor(cmd).network.disconnect(network, container)));
  net
    .command('prune')
    .description('remove every user network no container is on')
    .option('-f, --force', 'do not ask (codex32 never asks)')
    .option('--filter <K=V>', 'label=K[=V], label!=K[=V], until=TIME (repeatable)', collect)
    .action(action(async (o: { filter?: string[] }, cmd: Command) => {
      const gone = await engineFor(cmd).network.prune(parseFilterFlags(o.filter ?? []));
      if (gone.length) out(`Deleted Networks:\n${gone.map((g) => g + '\n').join('')}`);
    }));
}
