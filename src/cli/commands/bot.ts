// codex32 bot: apply a bot file and manage bots through the AdaptiveExecutor.
import type { Command } from 'commander';
import { parsePositiveInt } from '../../config/parse.js';
import { AdaptiveExecutor } from '../../executor/adaptive.js';
import { action, engineFor, writeRecord } from '../context.js';
import { humanDuration, table } from '../format.js';
import { botUsage, mergedLogs } from '../../executor/views.js';
import { out } from '../output.js';
import { refillCronTimes } from '../../runtime/keep-plan.js';

const size = (n: number) => (n >= 1024 ** 3 ? `${(n / 1024 ** 3).toFixed(2)}GiB` : n >= 1024 ** 2 ? `${(n / 1024 ** 2).toFixed(1)}MiB` : `${(n / 1024).toFixed(0)}KiB`);

/** Print what succeeded, in order; then fail with the first failure (the others went ahead). */
function reportAll<T>(done: PromiseSettledResult<T>[], line: (value: T, i: number) => string): void {
  out(done.map((d, i) => (d.status === 'fulfilled' ? line(d.value, i) : '')).join(''));
  const failed = done.find((d): d is PromiseRejectedResult => d.status === 'rejected');
  if (failed) throw failed.reason;
}

const executor = (cmd: Command) => new AdaptiveExecutor(engineFor(cmd));

/** Register the bot commands. */
export function registerBot(program: Command): void {
  const bot = program.command('bot').description('bots: declarative definitions run locally, in containers or on Kubernetes');

  bot
    .command('apply')
    .description('validate a bot file and apply every bot in it, or none: codex32 YAML/JSON, or a PM2 ecosystem file (.js, .cjs, .json, .yaml)')
    .option('--no-start', 'store the definitions without running them')
    .option('--env <name>', "a PM2 file's env_<name> over its env")
    .argument('<file>')
    .action(action(async (file: string, o: { start: boolean; env?: string }, cmd: Command) => {
      const ex = executor(cmd);
      const r = await ex.applyFile(file, { start: o.start, env: o.env });
      for (const n of r.applied) out(`${n}: ${r.started.includes(n) ? 'applied and running' : 'applied'}\n`);
      for (const f of r.failed) process.stderr.write(`codex32: ${f.name}: ${f.error}\n`);
      if (r.failed.length) process.exitCode = 125;
    }));

  bot
    .command('ls')
    .alias('list')
    .description('list bots: status, pid, CPU, memory, restarts, uptime')
    .option('--json', 'JSON output')
    .action(action(async (o: { json?: boolean }, cmd: Command) => {
      const ex = executor(cmd);
      const rows = await botUsage(ex);
      if (o.json) return void out(JSON.stringify(rows, null, 2) + '\n');
      const now = Date.now();
      const ns = rows.some((s) => s.namespace); // PM2's column, shown once a bot has a namespace
      out(table(['NAME', ...(ns ? ['NAMESPACE'] : []), 'TYPE', 'STATUS', 'PID', 'CPU %', 'MEMORY', 'RESTARTS', 'UPTIME', 'URL'], rows.map((s) => [
        s.name, ...(ns ? [s.namespace ?? '-'] : []), s.type, s.status, s.pid ? String(s.pid) : '-', s.cpuPercent !== undefined ? s.cpuPercent.toFixed(1) : '-',
        s.memory !== undefined ? size(s.memory) + (s.memoryLimit ? ` / ${size(s.memoryLimit)}` : '') : '-', String(s.restarts) + (s.restartReasons ? ` (${Object.entries(s.restartReasons).filter(([, n]) => n).map(([k, n]) => `${k} ${n}`).join(', ')})` : ''),
        s.startedAt && s.status === 'running' ? humanDuration(now - s.startedAt) : '-', s.url ?? '-',
      ])));
    }));

  const verbs = [['start', 'run stopped bots again'], ['stop', 'stop bots gracefully; they stay stopped until started'], ['restart', 'restart bots (stop, then start the code on disk)'],
    ['reload', 'replace cluster instances one at a time, each new one accepting connections before the old one stops (other bots restart)']] as const;
  for (const [verb, desc] of verbs) {
    const c = bot.command(verb).description(`${desc}: names, namespaces, globs ("api-*") or all`).argument('<names...>');
    if (verb === 'start') c.alias('run');
    c.action(action(async (patterns: string[], _o: object, cmd: Command) => {
      const ex = executor(cmd);
      const one = async (name: string) => {
        const s = verb === 'start' ? await ex.runBot(name) : verb === 'stop' ? await ex.stopBot(name) : verb === 'reload' ? await ex.reload(name) : await ex.restartBot(name);
        return `${name}: ${s.status}\n`;
      };
      const names = ex.resolve(patterns);
      // a reload goes one bot at a time, so a group keeps serving; the rest all at once: their grace periods
      // overlap instead of adding up
      const done: PromiseSettledResult<string>[] = [];
      if (verb === 'reload') for (const n of names) done.push(...(await Promise.allSettled([one(n)])));
      else done.push(...(await Promise.allSettled(names.map(one))));
      reportAll(done, (line) => line); // in the order named, whichever finished first
    }));
  }

  bot.command('rm').alias('remove').description('stop bots gracefully and delete their definitions (data volumes stay): names, globs or all')
    .option('--volumes', 'delete their data volumes too').argument('<names...>').action(action(async (patterns: string[], o: { volumes?: boolean }, cmd: Command) => {
    const ex = executor(cmd);
    const names = ex.resolve(patterns);
    reportAll(await Promise.allSettled(names.map((n) => ex.remove(n, { volumes: o.volumes }))), (_, i) => names[i] + '\n');
  }));

  bot
    .command('logs')
    .description("bots' output: one bot, several, or (no name) every bot merged, each line prefixed with its bot")
    .option('-f, --follow', 'keep printing new output')
    .option('-n, --tail <n>', 'only the last N lines of each bot')
    .option('-t, --timestamps', 'prefix each line with its time')
    .option('--err', 'stderr only')
    .option('--out', 'stdout only')
    .argument('[names...]')
    .action(action(async (patterns: string[], o: { follow?: boolean; tail?: string; timestamps?: boolean; err?: boolean; out?: boolean }, cmd: Command) => {
      const tail = o.tail ? parsePositiveInt('`--tail`', o.tail) : undefined;
      const ex = executor(cmd);
      const names = ex.resolve(patterns.length ? patterns : ['all']);
      const prefixed = names.length > 1 || !patterns.length;
      const width = Math.max(...names.map((n) => n.length));
      const ac = new AbortController();
      process.once('SIGINT', () => ac.abort());
      const streams = o.err ? (['stderr'] as const) : o.out ? (['stdout'] as const) : undefined;
      let lineStart = true;
      for await (const rec of mergedLogs(ex, names, { follow: o.follow, tail, streams: streams && [...streams], signal: ac.signal })) {
        const prefix = lineStart ? `${prefixed ? rec.bot.padEnd(width) + ' | ' : ''}${o.timestamps ? rec.time + ' ' : ''}` : '';
        await writeRecord(rec, prefix || undefined);
        lineStart = rec.full;
      }
    }));

  bot
    .command('restore')
    .description('bring back bots that should run and do not (what serve does at start; the boot unit runs it)')
    .action(action(async (_o: object, cmd: Command) => {
      for (const n of await executor(cmd).restore({ initial: true })) out(n + '\n');
    }));

  // run by a bot's supervisor (its cron_refill_arg) when its list of cron times runs short; hidden from help
  bot
    .command('cron-refill', { hidden: true })
    .description("write the next cron times of pattern into a bot supervisor's run directory (RUNDIR/cron-times)")
    .option('--count <n>', 'how many times', (v) => parsePositiveInt('--count', v))
    .argument('<rundir>')
    .argument('<pattern>')
    .action(action((runDir: string, pattern: string, o: { count?: number }) => {
      refillCronTimes(runDir, pattern, o.count);
    }));

  bot
    .command('manifest')
    .description('print the Kubernetes manifests for a bot (validated against the Kubernetes schema)')
    .option('--json', 'JSON instead of YAML')
    .argument('<name>')
    .action(action(async (name: string, o: { json?: boolean }, cmd: Command) => {
      const list = await executor(cmd).manifest(name);
      const { stringify } = await import('yaml');
      out(o.json ? JSON.stringify(list, null, 2) + '\n' : list.map((m) => stringify(m)).join('---\n'));
    }));
}
