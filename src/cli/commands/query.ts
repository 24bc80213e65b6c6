// ps, inspect, logs and info: read-only views of containers and the host.
import { rootlessLines } from '../../runtime/rootless-info.js';
import type { Command } from 'commander';
import { basename } from 'node:path';
import { parsePositiveInt, parseTime } from '../../config/parse.js';
import { portsText } from '../../engine/netinfo.js';
import { containerFilter, filtersWantAll } from '../../engine/psfilter.js';
import { collect, parseFilterFlags } from '../options.js';
import { shownStatus } from '../../engine/status.js';
import { EngineError } from '../../errors.js';
import { action, engineFor, writeRecord } from '../context.js';
import { ellipsis, humanDuration, renderTemplate, statusLine, table } from '../format.js';
import { out } from '../output.js';

/** Register ps/list, inspect, logs and info. */
export function registerQuery(program: Command): void {
  program
    .command('ps')
    .alias('list')
    .alias('ls')
    .description('list containers (running ones unless -a)')
    .option('-a, --all', 'include stopped containers')
    .option('-q, --quiet', 'only ids')
    .option('--json', 'JSON output')
    .option('-f, --filter <K=V>', "docker's filters: id, name, label, exited, status, ancestor, before, since, volume, network, publish, expose, health, isolation (repeatable)", collect)
    .option('--format <template>', 'json, a Go template of docker\'s ps fields ({{.ID}} {{.Names}} {{.Status}} {{.Label "k"}} ...), or `table TEMPLATE`')
    .option('--no-trunc', 'full ids and commands')
    .option('-n, --last <n>', 'the n containers created last, in any state', (v: string) => parsePositiveInt('`--last`', v))
    .option('-l, --latest', 'the container created last, in any state')
    .action(action(async (o: { all?: boolean; quiet?: boolean; json?: boolean; filter?: string[]; format?: string; trunc?: boolean; last?: number; latest?: boolean }, cmd: Command) => {
      const engine = engineFor(cmd);
      const filters = parseFilterFlags(o.filter ?? []);
      const keep = containerFilter(filters, (ref) => engine.get(ref));
      const last = o.latest ? 1 : o.last;
      let rows = (await engine.list({ all: o.all || last !== undefined || filtersWantAll(filters) })).filter(keep);
      if (last !== undefined) rows = rows.sort((a, b) => b.createdAt - a.createdAt).slice(0, last);
      if (o.quiet) return void out(rows.map((r) => (o.trunc === false ? r.id : r.id.slice(0, 12)) + '\n').join(''));
      if (o.format !== undefined) return void out((await import('../psformat.js')).renderPs(o.format, rows, o.trunc === false));
      if (o.json) {
        const docs = rows.map((r) => ({
          Id: r.id, Name: r.name, Image: r.config.image, Command: r.config.command.join(' '), Created: new Date(r.createdAt).toISOString(),
          Status: shownStatus(r), State: statusLine(r), ExitCode: r.state.exitCode ?? null, RestartCount: r.state.restartCount,
          Isolation: r.config.isolation, Ports: portsText(r), Pid: r.status === 'running' ? (r.state.init?.pid ?? 0) : 0,
        }));
        return void out(JSON.stringify(docs, null, 2) + '\n');
      }
      const now = Date.now();
      out(table(
        ['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'ISOLATION', 'PORTS', 'NAMES'],
        rows.map((r) => [
          r.id.slice(0, 12), ellipsis(r.config.image, 24), ellipsis(r.config.command.length ? JSON.stringify(r.config.command.join(' ')) : `(${basename(r.config.image)})`, 24),
          `${humanDuration(now - r.createdAt)} ago`, statusLine(r, now), r.config.isolation, portsText(r), r.name,
        ]),
      ));
    }));

  program
    .command('inspect')
    .description('show a container as JSON (docker shape)')
    .option('-f, --format <template>', 'Go-style template, e.g. {{.State.Status}}')
    .argument('<containers...>')
    .action(action(async (refs: string[], o: { format?: string }, cmd: Command) => {
      const docs: unknown[] = [];
      for (const r of refs) docs.push(await engineFor(cmd).inspect(r));
      if (o.format) out(docs.map((d) => renderTemplate(o.format!, d)).join('\n') + '\n');
      else out(JSON.stringify(docs, null, 2) + '\n');
    }));

  program
    .command('port')
    .description("list a container's published ports (docker's form: 3001/tcp -> 0.0.0.0:32768)")
    .argument('<container>')
    .argument('[port]', 'only this container port, e.g. 3001 or 3001/udp')
    .action(action(async (ref: string, only: string | undefined, _o: unknown, cmd: Command) => {
      const ports = (await engineFor(cmd).inspect(ref)).NetworkSettings.Ports;
      const want = only && !only.includes('/') ? `${only}/tcp` : only;
      const lines = Object.entries(ports)
        .filter(([k]) => !want || k === want)
        .flatMap(([k, binds]) => (binds ?? []).map((b) => (want ? '' : `${k} -> `) + `${b.HostIp}:${b.HostPort}`));
      if (want && !lines.length) throw new EngineError('INVALID_CONFIG', `Expected a published port of ${ref}, got \`${only}\`. Run \`codex32 port ${ref}\` to list them.`);
      out(lines.map((l) => l + '\n').join(''));
    }));

  program
    .command('logs')
    .description("print a container's output")
    .option('-f, --follow', 'keep printing new output until the container stops')
    .option('-n, --tail <n>', 'only the last N lines')
    .option('--since <time>', 'only lines since a time (RFC 3339, unix seconds, or 10m)')
    .option('--until <time>', 'only lines until a time')
    .option('-t, --timestamps', 'prefix each line with its time')
    .option('--stream <name>', 'stdout or stderr only')
    .argument('<container>')
    .action(action(async (ref: string, o: { follow?: boolean; tail?: string; since?: string; until?: string; timestamps?: boolean; stream?: string }, cmd: Command) => {
      if (o.stream && o.stream !== 'stdout' && o.stream !== 'stderr')
        throw new EngineError('INVALID_CONFIG', `Expected \`--stream\` to be stdout or stderr, got \`${o.stream}\``);
      const tail = o.tail === undefined || o.tail === 'all' ? undefined : o.tail === '0' ? 0 : parsePositiveInt('`--tail`', o.tail);
      const ac = new AbortController();
      process.once('SIGINT', () => ac.abort());
      let lineStart = true;
      const engine = engineFor(cmd);
      // a log the supervisor could not open or write is incomplete: say so, and why, on stderr
      const problems = engine.logProblems(ref);
      for (const p of problems) process.stderr.write(`codex32: the log of ${ref} is incomplete: ${p}\n`);
      for await (const rec of engine.logs(ref, {
        follow: o.follow, tail, since: o.since ? parseTime('`--since`', o.since) : undefined, until: o.until ? parseTime('`--until`', o.until) : undefined,
        streams: o.stream ? [o.stream as 'stdout' | 'stderr'] : undefined, signal: ac.signal,
      })) {
        await writeRecord(rec, o.timestamps && lineStart ? rec.time + ' ' : undefined);
        lineStart = rec.full;
      }
      if (o.follow) for (const p of engine.logProblems(ref).slice(problems.length)) process.stderr.write(`codex32: the log of ${ref} is incomplete: ${p}\n`);
    }));

  program
    .command('info')
    .description('what this host supports: namespaces, cgroups, isolation levels')
    .option('--json', 'JSON output')
    .action(action((o: { json?: boolean }, cmd: Command) => {
      const info = engineFor(cmd).info();
      if (o.json) return void out(JSON.stringify(info, null, 2) + '\n');
      const yes = (b: boolean) => (b ? 'yes' : 'no');
      const lines = [
        `Storage:            ${info.storageDir} (schema v${info.schemaVersion})`,
        `Kernel:             ${info.kernel}`,
        `Running as root:    ${yes(info.root)} (CAP_SYS_ADMIN: ${yes(info.capSysAdmin)})`,
        `Namespaces:         ${Object.entries(info.namespaces).map(([k, v]) => `${k}=${yes(v)}`).join(' ')}`,
        `Unprivileged userns: ${yes(info.unprivilegedUserns)}`,
        `Cgroups:            ${info.cgroup.version}; controllers: ${Object.keys(info.cgroup.controllers).join(', ') || 'none usable'}`,
        ...(info.cgroupV2 ? [`Cgroup v2 manager:  ${info.cgroupV2.manager}; delegated subtree: ${info.cgroupV2.delegated ?? '/codex32'} (${info.cgroupV2.how})`] : []),
        `Overlayfs:          ${yes(info.overlay)}`,
        `CPU limit (minimal): ${info.cpuLimitMinimal}`,
        `Strict layers:      ${info.strictLayers.mode === 'idmapped' ? 'idmapped mounts' : 'a shifted copy per uid range'} (${info.strictLayers.why})`,
        `Disk quota:         ${info.diskQuota.mechanism === 'loop-ext4' ? 'loop-mounted ext4 per container (--storage-opt size=SIZE)' : `none (missing ${info.diskQuota.missing}): --storage-opt size is refused`}`,
        ...rootlessLines(info),
        `Default isolation:  ${info.defaultIsolation}`,
        'Isolation levels:',
        ...Object.entries(info.levels).map(([k, v]) => `  ${k.padEnd(9)} ${v.supported ? 'supported' : 'NOT supported: missing ' + v.missing.join('; ')}`),
      ];
      out(lines.join('\n') + '\n');
    }));

  program
    .command('prune')
    .description('remove every stopped container and its files')
    .action(action(async (_o: object, cmd: Command) => {
      const removed = await engineFor(cmd).prune();
      out(removed.map((n) => n + '\n').join('') + `Removed ${removed.length} container(s)\n`);
    }));
}
