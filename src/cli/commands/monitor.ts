// stats and events: watching containers live.
import type { Command } from 'commander';
import { parseTime } from '../../config/parse.js';
import { eventDoc, eventFilter } from '../../engine/eventfilter.js';
import { cpuPercent, type StatsSample } from '../../engine/observe.js';
import { AdaptiveExecutor } from '../../executor/adaptive.js';
import { allStats } from '../../executor/views.js';
import type { EventRecord } from '../../state/types.js';
import { action, engineFor } from '../context.js';
import { humanDuration, humanSize, table } from '../format.js';
import { collect, parseFilterFlags } from '../options.js';
import { out } from '../output.js';
import { compileTemplate, formatRows } from '../template.js';

const size = (n?: number) => {
  if (n === undefined) return '-';
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)}KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)}MiB`;
  return `${(n / 1024 ** 3).toFixed(2)}GiB`;
};

/** docker's stats column headers, by field. */
const STATS_HEADERS = { ID: 'CONTAINER ID', Container: 'CONTAINER', Name: 'NAME', CPUPerc: 'CPU %', MemUsage: 'MEM USAGE / LIMIT', MemPerc: 'MEM %', NetIO: 'NET I/O', BlockIO: 'BLOCK I/O', PIDs: 'PIDS', Uptime: 'UPTIME', Restarts: 'RESTARTS' };

/** One sample as docker's stats fields (text as its table prints them), plus codex32's uptime and restarts. */
function statsFields(s: StatsSample, cpu: number, noTrunc: boolean): Record<keyof typeof STATS_HEADERS, string> {
  const used = s.memUsage ?? s.rss;
  const id = noTrunc ? s.id : s.id.slice(0, 12);
  return {
    ID: id, Container: id, Name: s.name, CPUPerc: `${cpu.toFixed(2)}%`, MemUsage: `${size(used)} / ${size(s.memLimit)}`,
    MemPerc: s.memLimit ? `${((used / s.memLimit) * 100).toFixed(2)}%` : '-',
    NetIO: s.netIo ? `${humanSize(s.netIo.rxBytes)} / ${humanSize(s.netIo.txBytes)}` : '-',
    BlockIO: s.blockIo ? `${humanSize(s.blockIo.readBytes)} / ${humanSize(s.blockIo.writeBytes)}` : '-',
    PIDs: String(s.pids), Uptime: humanDuration(s.uptimeMs), Restarts: String(s.restarts),
  };
}

/** Register stats and events. */
export function registerMonitor(program: Command): void {
  program
    .command('stats')
    .description('live CPU, memory and process counts of running containers')
    .option('--no-stream', 'print one sample and exit')
    .option('--json', 'JSON output (implies --no-stream)')
    .option('--format <template>', 'json, a Go template of docker\'s stats fields ({{.Name}} {{.CPUPerc}} {{.MemUsage}} {{.MemPerc}} {{.NetIO}} {{.BlockIO}} {{.PIDs}} ...), or `table TEMPLATE`')
    .option('--no-trunc', 'full container ids')
    .argument('[containers...]')
    .action(action(async (refs: string[], o: { stream: boolean; json?: boolean; format?: string; trunc?: boolean }, cmd: Command) => {
      if (o.format !== undefined) compileTemplate(o.format.replace(/^table\s*/, '')); // a bad template is refused before any sampling
      const executor = new AdaptiveExecutor(engineFor(cmd)); // LOCAL_PROCESS bots are shown beside containers
      const stream = o.stream && !o.json;
      let prev = new Map<string, StatsSample>();
      for (let first = true; ; first = false) {
        const samples = await allStats(executor, refs);
        const rows = samples.map((s) => ({ s, cpu: cpuPercent(prev.get(s.id), s) }));
        prev = new Map(samples.map((s) => [s.id, s]));
        if (first) {
          // CPU % needs two samples: take the second half a second later
          await new Promise((r) => setTimeout(r, 500));
          continue;
        }
        if (o.json) {
          out(JSON.stringify(rows.map(({ s, cpu }) => ({
            Id: s.id, Name: s.name, CPUPerc: Number(cpu.toFixed(2)), MemUsage: s.memUsage ?? s.rss, MemLimit: s.memLimit ?? null,
            MemRSS: s.rss, PIDs: s.pids, Processes: s.processes, UptimeMs: s.uptimeMs, Restarts: s.restarts,
            NetIO: s.netIo ? { Rx: s.netIo.rxBytes, Tx: s.netIo.txBytes } : null, BlockIO: s.blockIo ? { Read: s.blockIo.readBytes, Write: s.blockIo.writeBytes } : null,
          })), null, 2) + '\n');
          return;
        }
        const fields = rows.map(({ s, cpu }) => statsFields(s, cpu, o.trunc === false));
        const text = o.format !== undefined
          ? formatRows(o.format, fields, STATS_HEADERS, '{{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}')
          : table(['CONTAINER ID', 'NAME', 'CPU %', 'MEM USAGE / LIMIT', 'MEM %', 'NET I/O', 'BLOCK I/O', 'PIDS', 'UPTIME', 'RESTARTS'], fields.map((f) => [f.ID, f.Name, f.CPUPerc, f.MemUsage, f.MemPerc, f.NetIO, f.BlockIO, f.PIDs, f.Uptime, f.Restarts]));
        if (!stream) return void out(text);
        out('\x1b[2J\x1b[H' + text); // clear and redraw, as docker stats does
        await new Promise((r) => setTimeout(r, 1000));
      }
    }));

  program
    .command('events')
    .description('what happened to containers: create, start, die, oom, restart, health_status, stop, kill, remove, exec, rename, pause, unpause, update')
    .option('--since <time>', 'events since a time (RFC 3339, unix seconds, or 10m)')
    .option('--until <time>', 'events until a time')
    .option('-f, --filter <key=value>', "docker's filters: container, event, image, label, type, network, volume, daemon, scope (repeatable)", collect)
    .option('--follow', 'keep printing new events')
    .option('--json', 'one JSON object per line (codex32\'s record)')
    .option('--format <template>', 'json, or a Go template of docker\'s event ({{.Action}} {{.Actor.ID}} {{.Actor.Attributes.name}} {{.Time}} ...)')
    .action(action(async (o: { since?: string; until?: string; filter?: string[]; follow?: boolean; json?: boolean; format?: string }, cmd: Command) => {
      const engine = engineFor(cmd);
      const keep = eventFilter(parseFilterFlags(o.filter ?? []));
      const render = o.format === undefined || o.format.trim() === 'json' ? undefined : compileTemplate(o.format);
      const print = (e: EventRecord) => {
        const d = eventDoc(e);
        if (!keep(d)) return;
        if (o.json) return void out(JSON.stringify(e) + '\n');
        if (o.format !== undefined) return void out((render ? render(d) : JSON.stringify(d)) + '\n');
        // as docker prints one: its attributes (name, image, labels, the event's own) sorted by key
        const attrs = Object.entries(d.Actor.Attributes).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${k}=${v}`).join(', ');
        out(`${new Date(e.time).toISOString()} container ${e.type} ${(e.containerId ?? '').slice(0, 12)} (${attrs})\n`);
      };
      const since = o.since ? parseTime('`--since`', o.since) : o.follow ? Date.now() : 0;
      const until = o.until ? parseTime('`--until`', o.until) : undefined;
      let last = 0;
      for (const e of engine.events({ since, until })) {
        print(e);
        last = e.id;
      }
      if (!o.follow) return;
      let stop = false;
      process.once('SIGINT', () => (stop = true));
      while (!stop) {
        await engine.list(); // reconcile, so exits the supervisors recorded become events
        for (const e of engine.events({ afterId: last, until })) {
          print(e);
          last = e.id;
        }
        if (until && Date.now() > until) return;
        await new Promise((r) => setTimeout(r, 250));
      }
    }));
}
