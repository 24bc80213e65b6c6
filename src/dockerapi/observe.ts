// /containers/{id}/stats and /events: usage samples and the event log, streamed as docker's NDJSON.
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { eventDoc, eventFilter } from '../engine/eventfilter.js';
import { flag, listFilters } from './query.js';
import { ApiError } from './errors.js';
import type { ApiRequest, ApiRoute } from './server.js';
import { ndjson } from './streams.js';
import { sendJson } from './system.js';

type Sample = Awaited<ReturnType<ApiRequest['engine']['stats']>>[number];

/** The host's CPU time in ns (docker's system_cpu_usage), from /proc/stat's first line. */
function systemCpuNs(): number {
  const f = readFileSync('/proc/stat', 'latin1').split('\n')[0].trim().split(/\s+/).slice(1, 8).map(Number);
  return f.reduce((a, b) => a + b, 0) * 1e7; // USER_HZ is 100
}

function cpuStats(s: Sample | undefined, system: number) {
  return { cpu_usage: { total_usage: s ? Math.round(s.cpuMs * 1e6) : 0, usage_in_kernelmode: 0, usage_in_usermode: 0 }, system_cpu_usage: system, online_cpus: cpus().length, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } };
}

function statsDoc(id: string, name: string, s: Sample, prev: { s?: Sample; system: number; read: string }) {
  const system = systemCpuNs();
  return {
    read: new Date(s.time).toISOString(),
    preread: prev.read,
    id,
    name: `/${name}`,
    pids_stats: { current: s.pids },
    cpu_stats: cpuStats(s, system),
    precpu_stats: cpuStats(prev.s, prev.system),
    memory_stats: { usage: s.memUsage ?? s.rss, limit: s.memLimit ?? totalmem(), stats: { total_inactive_file: 0 } },
    blkio_stats: { io_service_bytes_recursive: s.blockIo ? [{ major: 0, minor: 0, op: 'read', value: s.blockIo.readBytes }, { major: 0, minor: 0, op: 'write', value: s.blockIo.writeBytes }] : null },
    ...(s.netIo ? { networks: { eth0: { rx_bytes: s.netIo.rxBytes, rx_packets: s.netIo.rxPackets, rx_errors: s.netIo.rxErrors, rx_dropped: s.netIo.rxDropped, tx_bytes: s.netIo.txBytes, tx_packets: s.netIo.txPackets, tx_errors: s.netIo.txErrors, tx_dropped: s.netIo.txDropped } } } : {}),
    num_procs: 0,
    storage_stats: {},
  };
}

async function stats(req: ApiRequest, res: Parameters<ApiRoute['handler']>[1]): Promise<void> {
  req.named.container = req.params.id;
  const row = req.engine.get(req.params.id);
  const stream = flag(req.query, 'stream', true);
  const sample = async () => (await req.engine.stats([row.id]))[0];
  if (row.status !== 'running') {
    if (stream) throw new ApiError(409, `Container ${row.id} is not running`);
    return sendJson(res, { id: row.id, name: `/${row.name}` }); // as dockerd: a stopped container has no figures
  }
  let prev = { s: undefined as Sample | undefined, system: 0, read: '0001-01-01T00:00:00Z' };
  if (!stream) {
    // a CPU percentage needs two samples: take the earlier one now unless one-shot is asked for
    if (!flag(req.query, 'one-shot')) {
      const first = await sample();
      prev = { s: first, system: systemCpuNs(), read: new Date(first?.time ?? Date.now()).toISOString() };
      await new Promise((r) => setTimeout(r, 500));
    }
    const s = await sample();
    if (!s) return sendJson(res, { id: row.id, name: `/${row.name}` });
    return sendJson(res, statsDoc(row.id, row.name, s, prev));
  }
  const send = ndjson(res);
  while (!res.destroyed) {
    const s = await sample();
    if (!s) break;
    send(statsDoc(row.id, row.name, s, prev));
    prev = { s, system: systemCpuNs(), read: new Date(s.time).toISOString() };
    await new Promise((r) => setTimeout(r, 1000));
  }
  res.end();
}

async function events(req: ApiRequest, res: Parameters<ApiRoute['handler']>[1]): Promise<void> {
  const secs = (k: string) => (req.query.get(k) ? Number(req.query.get(k)) * 1000 : undefined);
  const since = secs('since');
  const until = secs('until');
  const keep = eventFilter(listFilters(req.query));
  ndjson(res); // the headers at once: clients wait on them
  // without since, only what happens from now on
  const from = since ?? Date.now();
  let after = 0;
  while (!res.destroyed) {
    // each look's events in one write: a history of thousands is one write, not one per event
    const docs: string[] = [];
    let over = false;
    for (const e of req.engine.events({ afterId: after, since: from })) {
      after = e.id;
      if (until !== undefined && e.time > until) {
        over = true;
        break;
      }
      const d = eventDoc(e);
      if (keep(d)) docs.push(JSON.stringify(d) + '\n');
    }
    if (docs.length) res.write(docs.join(''));
    if (over || (until !== undefined && Date.now() > until)) return void res.end();
    await new Promise((r) => setTimeout(r, 200));
  }
}

export const observeRoutes: ApiRoute[] = [
  { method: 'GET', path: '/containers/:id/stats', handler: stats },
  { method: 'GET', path: '/events', handler: events },
];
