// codex32 at scale: idle standard containers on the level's default (private) network started by 20 CLIs
// in parallel, with ps, inspect, stats and the supervisors' memory measured at 1000, 5000 and the count
// (so the curve is visible), then the service with its dashboard, stop, and what is left (processes,
// mounts, cgroups, namespaces, veths, nftables rules, address leases). kernel.pid_max is raised for the run
// and restored. Not a test: it prints figures beside their targets.
// With --user-network every container joins one user network (names in each /etc/hosts, addresses in one
// nftables set), and the memory a container and the network add is printed beside the supervisors'.
// Usage: node bench/scale.mjs [--count N (1000; 10000 for the issue's figures)] [--clis N] [--user-network]   (results in bench/results/scale[-usernet].json)
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { BIN, ROOT, benchStorage, median, startService } from './lib.mjs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const COUNT = arg('--count', 1000);
const CLIS = arg('--clis', 20);
const USERNET = process.argv.includes('--user-network');
const { storage, env } = benchStorage('c32-scale-');
const results = [];
const record = (label, value, unit, target) => results.push({ label, value, unit, target });

/** Run the CLI (with extra environment variables); resolves to { code, stdout, stderr }. */
function cli(args, extra = {}) {
  return new Promise((res) => {
    const p = spawn(BIN, args, { env: { ...env, ...extra }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code) => res({ code, stdout, stderr }));
  });
}

/** Run fn over items with at most n at once. */
async function pool(items, n, fn) {
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}

/** Median wall time of a CLI command over n runs. */
async function timeCli(args, n, extra = {}) {
  const xs = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const r = await cli(args, extra);
    xs.push(performance.now() - t0);
    if (r.code !== 0) return { error: `exit ${r.code}: ${r.stderr.trim().split('\n')[0]}` };
  }
  return median(xs);
}

const kb = (pid, key) => {
  try {
    return Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))[1]);
  } catch {
    return 0;
  }
};
/** Live processes whose command line mentions the storage directory (supervisors and their helpers). */
function ownProcesses() {
  const out = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8');
      if (cmd.includes(storage)) out.push({ pid: Number(d), cmd: cmd.split('\0')[0] });
    } catch {
      /* gone */
    }
  }
  return out;
}

const names = Array.from({ length: COUNT }, (_, i) => `idle${i}`);
// each container is a supervisor, its init and its command, each with threads: pid_max (32768 by default)
// would stop the count near ten thousand; raised for the run, restored at exit
const PID_MAX = '/proc/sys/kernel/pid_max';
const pidMaxBefore = readFileSync(PID_MAX, 'utf8').trim();
const pidMaxWanted = Math.max(Number(pidMaxBefore), COUNT * 8 + 32768);
if (pidMaxWanted > Number(pidMaxBefore)) {
  writeFileSync(PID_MAX, String(pidMaxWanted));
  process.on('exit', () => writeFileSync(PID_MAX, pidMaxBefore));
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));
}
const limits = {
  'kernel.pid_max': `${pidMaxBefore}${pidMaxWanted > Number(pidMaxBefore) ? ` (raised to ${pidMaxWanted} for the run, restored after)` : ''}`,
  'kernel.threads-max': readFileSync('/proc/sys/kernel/threads-max', 'utf8').trim(),
  'fs.file-nr (open, free, max)': readFileSync('/proc/sys/fs/file-nr', 'utf8').trim().replace(/\s+/g, ' '),
  'MemAvailable before': /MemAvailable:\s+(\d+ kB)/.exec(readFileSync('/proc/meminfo', 'utf8'))[1],
};

// 0. the user network, and what it costs the host before any container joins
const NET = 'scale';
let netId = '';
if (USERNET) {
  const r = await cli(['network', 'create', NET]);
  if (r.code !== 0) throw new Error(`network create failed: ${r.stderr}`);
  netId = r.stdout.trim();
}

// 1. start them all, measuring at each checkpoint on the way
let errors = 0;
let locked = 0;
const firstErrors = [];
const CHECKPOINTS = [...new Set([1000, 5000, COUNT].filter((n) => n <= COUNT))];
const curve = [];
const procs0 = ownProcesses(); // none yet: the storage directory is new
let started = 0;
const t0 = performance.now();
for (const upTo of CHECKPOINTS) {
  const tSeg = performance.now();
  await pool(names.slice(started, upTo), CLIS, async (name) => {
    const r = await cli(['run', '-d', '--name', name, '--isolation', 'standard', ...(USERNET ? ['--network', NET] : []), 'host', 'sleep', '100000']);
    if (r.code !== 0) {
      errors++;
      if (/locked/i.test(r.stderr)) locked++;
      if (firstErrors.length < 3) firstErrors.push(`${name}: ${r.stderr.trim().split('\n')[0]}`);
    }
  });
  const segSecs = (performance.now() - tSeg) / 1000;
  const procs = ownProcesses();
  const pss = procs.reduce((sum, p) => sum + kb(p.pid, 'Pss'), 0) / 1024;
  const point = {
    count: upTo,
    startSecs: (performance.now() - t0) / 1000,
    msPerStart: (segSecs * 1000) / (upTo - started),
    pssMB: pss,
    processes: procs.length - procs0.length,
    psMs: await timeCli(['ps', '-a'], 3),
    inspectMs: await timeCli(['inspect', names[0]], 3),
    statsMs: await timeCli(['stats', '--no-stream'], 1),
  };
  curve.push(point);
  started = upTo;
  console.error(`at ${upTo}: ${JSON.stringify(point)}`);
}
const last = curve.at(-1);
record(`start ${COUNT} standard containers${USERNET ? ' on one user network' : ''}, ${CLIS} CLIs in parallel`, last.startSecs, 's', '≤ 600 s for 10000');
record('start errors', errors, '', '0');
record('"database is locked" errors', locked, '', '0');

// 2. memory of the supervisors and any per-container helper process
const procs = ownProcesses();
const pssTotal = last.pssMB;
record(`PSS of ${last.processes} supervisor and helper processes, in total`, pssTotal, 'MB', '≤ 1200 MB for 10000');
record('PSS per container', pssTotal / COUNT, 'MB', '≤ 0.12 MB (1.2 GB / 10000)');
if (USERNET) {
  // what the network adds: each member's /etc/hosts (a file in its run directory, every peer by name) and its
  // address in the network's nftables set; the network itself is that set and one rule (no bridge, no process)
  let hostsBytes = 0;
  for (const id of readdirSync(join(storage, 'containers'))) {
    try {
      hostsBytes += statSync(join(storage, 'containers', id, 'etc', 'hosts')).size;
    } catch {
      /* not started */
    }
  }
  const set = `n_${netId.slice(0, 12)}`;
  let elements = 0;
  let setText = '';
  try {
    setText = execFileSync('nft', ['list', 'set', 'ip', 'codex32', set], { encoding: 'utf8', maxBuffer: 1 << 26 });
    elements = (setText.match(/\d+\.\d+\.\d+\.\d+/g) ?? []).length;
  } catch (e) {
    setText = String(e);
  }
  // an element of an nftables hash set of ipv4_addr: the element (key, extension) and its hash node, about 64 bytes in kernel slab
  const SET_ELEMENT = 64;
  record('  of which /etc/hosts per container (the whole network named)', hostsBytes / COUNT / 2 ** 20, 'MB', '');
  record(`  of which its address in the network's nft set (${elements} elements, ~${SET_ELEMENT} B each)`, SET_ELEMENT / 2 ** 20, 'MB', '');
  record('PSS + /etc/hosts + set element per container', pssTotal / COUNT + (hostsBytes / COUNT + SET_ELEMENT) / 2 ** 20, 'MB', '≤ 0.5 MB');
  const rules = (() => {
    try {
      return execFileSync('nft', ['list', 'chain', 'ip', 'codex32', 'members'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(`net:${netId.slice(0, 12)}`)).length;
    } catch {
      return 0;
    }
  })();
  const bridges = execFileSync('ip', ['-o', 'link', 'show', 'type', 'bridge'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(netId.slice(0, 12))).length;
  record('per network: nft sets / rules / bridges', `1 set (${setText.includes(set) ? 'present' : 'absent'}) / ${rules} / ${bridges}`, '', '≤ 2 MB');
  record('processes per container (its supervisor and init; none for names)', procs.length / COUNT, '', 'no process per network or for names');
}
limits['MemAvailable with all running'] = /MemAvailable:\s+(\d+ kB)/.exec(readFileSync('/proc/meminfo', 'utf8'))[1];
limits['fs.file-nr with all running'] = readFileSync('/proc/sys/fs/file-nr', 'utf8').trim().replace(/\s+/g, ' ');
limits['processes on the host with all running'] = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).length;

// 3. ps, inspect, stats
record(`ps -a with ${COUNT} running`, await timeCli(['ps', '-a'], 5), 'ms', '≤ 300 ms');
record('inspect of one container', await timeCli(['inspect', names[0]], 5), 'ms', '≤ 60 ms');
record(`stats --no-stream over all ${COUNT}`, await timeCli(['stats', '--no-stream'], 3), 'ms', '≤ 5000 ms');

// 4. the service with the dashboard open: the page, its API calls and its event stream
{
  const { svc, url } = await startService(env);
  const auth = { headers: { authorization: 'Bearer bench' } };
  const events = new AbortController();
  fetch(`${url}/api/events`, { ...auth, signal: events.signal }).then((r) => r.body?.getReader().read()).catch(() => {});
  await (await fetch(`${url}/`)).text();
  for (let i = 0; i < 5; i++) {
    await (await fetch(`${url}/api/containers`, auth)).text();
    await (await fetch(`${url}/api/bots`, auth)).text();
  }
  record('the service with the dashboard open: RSS', kb(svc.pid, 'Rss') / 1024, 'MB', '≤ 150 MB');
  events.abort();
  svc.kill('SIGTERM');
  await new Promise((r) => svc.once('exit', r));
}

// 5. stop them all, then remove
const t1 = performance.now();
const batches = [];
for (let i = 0; i < names.length; i += 50) batches.push(names.slice(i, i + 50));
let stopErrors = 0;
await pool(batches, CLIS, async (b) => {
  const r = await cli(['stop', ...b]);
  if (r.code !== 0) stopErrors++;
});
record(`stop all ${COUNT}`, (performance.now() - t1) / 1000, 's', '≤ 120 s');
record('stop errors', stopErrors, '', '0');
const ids = existsSync(join(storage, 'containers')) ? readdirSync(join(storage, 'containers')) : [];
await pool(batches, CLIS, async (b) => {
  await cli(['rm', '-f', ...b]);
});
if (USERNET) await cli(['network', 'rm', NET]);

// 6. what is left: processes, mounts and cgroups of this storage directory
const leftProcs = ownProcesses().length;
const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(storage)).length;
let cgroups = 0;
for (const base of ['/sys/fs/cgroup/memory/codex32', '/sys/fs/cgroup/pids/codex32', '/sys/fs/cgroup/cpu,cpuacct/codex32', '/sys/fs/cgroup/codex32'])
  for (const id of ids) if (existsSync(join(base, id))) cgroups++;
// private networks: each container's namespace, host veth, address lease and nftables rules (names from
// src/runtime/network.ts and nftables.ts)
let nets = 0;
for (const id of ids) if (existsSync(`/run/netns/c32-${id.slice(0, 11)}`) || existsSync(`/run/codex32/net/c32-${id.slice(0, 11)}`)) nets++;
const idSet = new Set(ids.map((id) => id.slice(0, 11)));
const veths = readdirSync('/sys/class/net').filter((n) => n.startsWith('c32-') && idSet.has(n.slice(4))).length;
let leases = 0;
try {
  for (const a of readdirSync('/run/codex32/net/ip')) if (ids.includes(readFileSync(`/run/codex32/net/ip/${a}`, 'utf8').trim())) leases++;
} catch {
  /* no leases at all */
}
let rules = 0;
try {
  const ruleset = execFileSync('nft', ['list', 'ruleset'], { encoding: 'utf8', maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'ignore'] });
  rules = ids.filter((id) => ruleset.includes(id.slice(0, 12))).length;
} catch {
  /* nft absent */
}
record('left behind: processes / mounts / codex32 cgroups / namespaces', `${leftProcs} / ${mounts} / ${cgroups} / ${nets}`, '', '0 / 0 / 0 / 0');
record('left behind: veths / address leases / containers in nftables rules', `${veths} / ${leases} / ${rules}`, '', '0 / 0 / 0');

// report
const fmt = (v) => (typeof v === 'number' ? `${v.toFixed(0)} ms` : v.error);
const lines = [`codex32 at scale — ${new Date().toISOString()} — ${COUNT} containers${USERNET ? ' on one user network' : ''}, ${CLIS} CLIs`, ''];
for (const r of results) {
  const v = typeof r.value === 'number' ? `${r.value.toFixed(r.unit === '' ? 0 : r.unit === 'MB' ? 2 : 1)} ${r.unit}` : typeof r.value === 'object' ? r.value.error : r.value;
  lines.push(`${r.label.padEnd(62)} ${String(v).padStart(14)}   target ${r.target}`);
}
lines.push('', 'the curve (cumulative start, ms per start in the segment, supervisors PSS, ps -a, inspect, stats --no-stream):');
for (const c of curve)
  lines.push(`  at ${String(c.count).padStart(6)}: start ${c.startSecs.toFixed(0).padStart(5)} s, ${c.msPerStart.toFixed(1).padStart(6)} ms/start, ${c.pssMB.toFixed(0).padStart(5)} MB (${(c.pssMB / c.count).toFixed(3)} MB each), ps -a ${fmt(c.psMs)}, inspect ${fmt(c.inspectMs)}, stats ${fmt(c.statsMs)}`);
if (firstErrors.length) lines.push('', 'first start errors:', ...firstErrors.map((e) => `  ${e}`));
lines.push('', 'host limits that bound the count:', ...Object.entries(limits).map(([k, v]) => `  ${k}: ${v}`));
console.log(lines.join('\n'));
mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(join(ROOT, 'bench', 'results', USERNET ? 'scale-usernet.json' : 'scale.json'), JSON.stringify({ date: new Date().toISOString(), count: COUNT, clis: CLIS, userNetwork: USERNET, results, curve, limits }, null, 2));
rmSync(storage, { recursive: true, force: true });
