// codex32 bot: apply a bot file and manage bots through the AdaptiveExecutor.
import type { Command } from 'commander';
import { parsePositiveInt } from '../../config/parse.js';
import { AdaptiveExecutor } from '../../executor/adaptive.js';
import { action, engineFor, writeRecord } from '../context.js';
import { humanDuration, table } from '../format.js';

const executor = (cmd: Command) => new AdaptiveExecutor(engineFor(cmd));

/** Register the bot commands. */
export function registerBot(program: Command): void {
  const bot = program.command('bot').description('bots: declarative definitions run locally, in containers or on Kubernetes');

  bot
    .command('apply')
    .description('validate a bot file (JSON or YAML) and apply every bot in it, or none')
    .option('--no-start', 'store the definitions without running them')
    .argument('<file>')
    .action(action(async (file: string, o: { start: boolean }, cmd: Command) => {
      const r = await executor(cmd).applyFile(file, { start: o.start });
      for (const n of r.applied) process.stdout.write(`${n}: ${r.started.includes(n) ? 'applied and running' : 'applied'}\n`);
      for (const f of r.failed) process.stderr.write(`codex32: ${f.name}: ${f.error}\n`);
      if (r.failed.length) process.exitCode = 125;
    }));

  bot
    .command('ls')
    .alias('list')
    .description('list bots and their status')
    .option('--json', 'JSON output')
    .action(action(async (o: { json?: boolean }, cmd: Command) => {
      const ex = executor(cmd);
      const rows = [];
      for (const b of ex.list()) rows.push(await ex.status(b.name));
      if (o.json) return void process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
      const now = Date.now();
      process.stdout.write(table(['NAME', 'TYPE', 'STATUS', 'PID', 'RESTARTS', 'UPTIME', 'URL'], rows.map((s) => [
        s.name, s.type, s.status, s.pid ? String(s.pid) : '-', String(s.restarts), s.startedAt && s.status === 'running' ? humanDuration(now - s.startedAt) : '-', s.url ?? '-',
      ])));
    }));

  for (const [verb, desc] of [['run', 'run a bot'], ['stop', 'stop a bot'], ['restart', 'restart a bot']] as const) {
    bot.command(verb).description(desc).argument('<name>').action(action(async (name: string, _o: object, cmd: Command) => {
      const ex = executor(cmd);
      const s = verb === 'run' ? await ex.runBot(name) : verb === 'stop' ? await ex.stopBot(name) : await ex.restartBot(name);
      process.stdout.write(`${name}: ${s.status}\n`);
    }));
  }

  bot.command('rm').alias('remove').description('stop a bot and delete its definition').argument('<names...>').action(action(async (names: string[], _o: object, cmd: Command) => {
    for (const n of names) {
      await executor(cmd).remove(n);
      process.stdout.write(n + '\n');
    }
  }));

  bot
    .command('logs')
    .description("a bot's output")
    .option('-f, --follow', 'keep printing new output')
    .option('-n, --tail <n>', 'only the last N lines')
    .argument('<name>')
    .action(action(async (name: string, o: { follow?: boolean; tail?: string }, cmd: Command) => {
      const tail = o.tail ? parsePositiveInt('`--tail`', o.tail) : undefined;
      for await (const rec of executor(cmd).logs(name, { follow: o.follow, tail })) await writeRecord(rec);
    }));

  bot
    .command('manifest')
    .description('print the Kubernetes manifests for a bot (validated against the Kubernetes schema)')
    .option('--json', 'JSON instead of YAML')
    .argument('<name>')
    .action(action(async (name: string, o: { json?: boolean }, cmd: Command) => {
      const list = await executor(cmd).manifest(name);
      const { stringify } = await import('yaml');
      process.stdout.write(o.json ? JSON.stringify(list, null, 2) + '\n' : list.map((m) => stringify(m)).join('---\n'));
    }));
}
