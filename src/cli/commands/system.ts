// codex32 system check | repair | service: the state database's health, its rebuild from what is on
// disk, and the Docker Engine API for Docker's own clients.
import { useLauncher } from '../../runtime/launcher.js';
import { rootlessSocket } from '../../runtime/rootless.js';
import { join } from 'node:path';
import type { Command } from 'commander';
import { systemCheck, systemRepair, type RepairReport, type StateReport } from '../../engine/system.js';
import { action, engineFor, storageOption } from '../context.js';
import { collectFilter } from '../filters.js';
import { humanSize, table } from '../format.js';
import { out } from '../output.js';

const line = (k: string, v: string) => `${k.padEnd(16)} ${v}\n`;

function renderCheck(r: StateReport): string {
  let out = line('state database', r.exists ? r.database : `${r.database} (missing)`);
  if (r.schemaVersion !== undefined) out += line('schema version', `${r.schemaVersion} (this codex32: ${r.codeSchemaVersion})`);
  const sound = r.integrity.length === 1 && r.integrity[0] === 'ok';
  out += line('integrity', sound ? 'ok' : r.integrity[0] === 'missing' ? 'missing' : 'FAILED');
  if (!sound && r.integrity[0] !== 'missing') for (const p of r.integrity) out += line('', `  ${p}`);
  if (r.counts) out += line('rows', Object.entries(r.counts).map(([t, n]) => `${n} ${t}`).join(', '));
  const matched = r.rowsRead || !r.exists
    ? `${r.orphanDirectories.length} without a row, ${r.rowsWithoutDirectory.length} rows without a directory`
    : 'the rows cannot be read to match them';
  out += line('directories', `${r.directories} container directories, ${matched}`);
  for (const d of r.orphanDirectories) out += line('', `  no row:       ${d}`);
  for (const n of r.rowsWithoutDirectory) out += line('', `  no directory: ${n}`);
  out += line('result', r.healthy ? 'healthy' : 'damaged');
  for (const a of r.advice) out += line('', a);
  return out;
}

function renderRepair(r: RepairReport): string {
  if (!r.repaired) return 'The state database is healthy and agrees with the container directories: nothing to repair (--force rebuilds it anyway).\n';
  let out = r.aside ? `kept the damaged database as ${r.aside}\n` : 'there was no database to keep\n';
  out += `rebuilt the database from ${r.containers.length} container ${r.containers.length === 1 ? 'directory' : 'directories'}:\n`;
  for (const c of r.containers) out += `  ${c.id.slice(0, 12)}  ${c.status.padEnd(10)} ${c.name}\n`;
  if (r.skipped.length) out += `left ${r.skipped.length} ${r.skipped.length === 1 ? 'directory' : 'directories'} untouched:\n`;
  for (const s of r.skipped) out += `  ${s.id.slice(0, 12)}  ${s.reason}\n`;
  out += `images: ${r.images}; bots restored: ${r.bots}; events restored: ${r.events}\n`;
  if (r.lost.length) out += `lost with the old database: ${r.lost.join(', ')}${r.lost.includes('bots') ? ' (re-apply your bot files)' : ''}\n`;
  return out;
}

/** Register system check, repair, df, prune and service. */
export function registerSystem(program: Command): void {
  const system = program.command('system').description('state database maintenance, disk usage and prune, the Docker API service');
  system
    .command('check')
    .description('check the state database: integrity, schema version, row counts, container directories; exits 1 when damaged')
    .option('--json', 'JSON output')
    .action(action((o: { json?: boolean }, cmd: Command) => {
      const r = systemCheck(storageOption(cmd));
      out(o.json ? JSON.stringify(r, null, 2) + '\n' : renderCheck(r));
      if (!r.healthy) process.exitCode = 1;
    }));
  system
    .command('repair')
    .description('keep a damaged state database aside and rebuild it from the container directories and the image store')
    .option('--force', 'rebuild even a healthy database')
    .option('--json', 'JSON output')
    .action(action((o: { force?: boolean; json?: boolean }, cmd: Command) => {
      const r = systemRepair(storageOption(cmd), { force: o.force });
      out(o.json ? JSON.stringify(r, null, 2) + '\n' : renderRepair(r));
    }));
  system
    .command('df')
    .description('show what images and containers take on disk, and what a prune would give back')
    .option('-v, --verbose', 'one line per image and container')
    .action(action(async (o: { verbose?: boolean }, cmd: Command) => {
      const u = await engineFor(cmd).diskUsage();
      const pct = (part: number, whole: number) => `${humanSize(part)}${whole ? ` (${Math.round((part * 100) / whole)}%)` : ''}`;
      const t = u.totals;
      out(table(['TYPE', 'TOTAL', 'ACTIVE', 'SIZE', 'RECLAIMABLE'], [
        ['Images', String(t.images.count), String(t.images.active), humanSize(t.images.size), pct(t.images.reclaimable, t.images.size)],
        ['Containers', String(t.containers.count), String(t.containers.active), humanSize(t.containers.size), pct(t.containers.reclaimable, t.containers.size)],
        ['Local Volumes', '0', '0', '0B', '0B'],
        ['Build Cache', '0', '0', '0B', '0B'],
      ]));
      if (!o.verbose) return;
      out('\nImages space usage:\n\n' + table(['IMAGE ID', 'TAGS', 'SIZE', 'CONTAINERS'], u.images.map((i) => [i.id.startsWith('sha256:') ? i.id.slice(7, 19) : i.id, i.tags.join(', ') || '<none>', humanSize(i.size), String(i.containers)])));
      out('\nContainers space usage:\n\n' + table(['CONTAINER ID', 'IMAGE', 'SIZE', 'STATUS', 'NAMES'], u.containers.map((c) => [c.id.slice(0, 12), c.image, humanSize(c.size), c.status, c.name])));
    }));
  system
    .command('prune')
    .description('remove stopped containers, unused networks and dangling images (-a: every unused image)')
    .option('-a, --all', 'every image no container uses, not only untagged ones')
    .option('--volumes', 'accepted for docker compatibility: codex32 has no named volumes (bind mounts are never removed)')
    .option('-f, --force', 'do not ask (codex32 never asks)')
    .option('--filter <k=v>', 'until=24h, label=k or label=k=v, label!=k', collectFilter)
    .action(action(async (o: { all?: boolean; filter?: Record<string, string[]> }, cmd: Command) => {
      const r = await engineFor(cmd).systemPrune({ all: o.all, filters: o.filter });
      const list = (title: string, xs: string[]) => (xs.length ? `${title}:\n${xs.map((x) => x + '\n').join('')}\n` : '');
      out(list('Deleted Containers', r.containers) + list('Deleted Networks', r.networks) + list('Deleted Images', r.images.map((i) => `deleted: ${i}`)) + `Total reclaimed space: ${humanSize(r.reclaimed)}\n`);
    }));
  system
    .command('service')
    .description('serve the Docker Engine API (v1.43 subset) on a unix socket until SIGTERM or SIGINT; containers outlive it')
    .option('--socket <path>', 'the socket to create, mode 0660 (default: STORAGE/docker.sock; rootless: $XDG_RUNTIME_DIR/codex32/docker.sock)')
    .action(action(async (o: { socket?: string }, cmd: Command) => {
      useLauncher(true); // long-lived: each start goes through the fork server
      const engine = engineFor(cmd);
      const path = o.socket ?? rootlessSocket() ?? join(engine.info().storageDir, 'docker.sock');
      const { serveDockerApi } = await import('../../dockerapi/server.js');
      const api = await serveDockerApi(engine, path);
      out(`codex32 Docker API listening on unix://${path} (DOCKER_HOST=unix://${path})\n`);
      await new Promise((resolve) => {
        process.once('SIGTERM', resolve);
        process.once('SIGINT', resolve);
      });
      await api.close();
    }));
}
