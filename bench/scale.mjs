// codex32 at scale: a thousand idle standard containers started by 20 CLIs in parallel, then ps, stats,
// the service with its dashboard, stop, and what is left. Not a test: it prints figures beside their targets.
// With --user-network every container joins one user network (names in each /etc/hosts, addresses in one
// nftables set), and the memory a container and the network add is printed beside the supervisors'.
// Usage: node bench/scale.mjs [--count N] [--clis N] [--user-network]   (results in bench/results/scale[-usernet].json)
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
const limits = {
  'kernel.pid_max': readFileSync('/proc/sys/kernel/pid_max', 'utf8').trim(),
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

// 1. start them all
let errors = 0;
let locked = 0;
const firstErrors = [];
const t0 = performance.now();
await pool(names, CLIS, async (name) => {
  const r = await cli(['run', '-d', '--name', name, '--isolation', 'standard', ...(USERNET ? ['--network', NET] : []), 'host', 'sleep', '100000']);
  if (r.code !== 0) {
    errors++;
    if (/locked/i.test(r.stderr)) locked++;
    if (firstErrors.length < 3) firstErrors.push(`${name}: ${r.stderr.trim().split('\n')[0]}`);
  }
});
const startSecs = (performance.now() - t0) / 1000;
record(`start ${COUNT} standard containers${USERNET ? ' on one user network' : ''}, ${CLIS} CLIs in parallel`, startSecs, 's', '≤ 60 s');
record('start errors', errors, '', '0');
record('"database is locked" errors', locked, '', '0');

// 2. memory of the supervisors and any per-container helper process
const procs = ownProcesses();
const pssTotal = procs.reduce((s, p) => s + kb(p.pid, 'Pss'), 0) / 1024;
record(`PSS of ${procs.length} supervisor and helper processes, in total`, pssTotal, 'MB', '≤ 300 MB');
record('PSS per container', pssTotal / COUNT, 'MB', '≤ 0.5 MB with its network');
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
record(`ps -a with ${COUNT} running`, await timeCli(['ps', '-a'], 5), 'ms', '≤ 100 ms');
record('inspect of one container', await timeCli(['inspect', names[0]], 5), 'ms', '≤ 60 ms');
record(`stats --no-stream over all ${COUNT}`, await timeCli(['stats', '--no-stream'], 3), 'ms', '≤ 1000 ms');

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
record(`stop all ${COUNT}`, (performance.now() - t1) / 1000, 's', '≤ 30 s');
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
// private networks: each container's namespace and address lease (names from src/runtime/network.ts)
let nets = 0;
for (const id of ids) if (existsSync(`/run/netns/c32-${id.slice(0, 11)}`) || existsSync(`/run/codex32/net/c32-${id.slice(0, 11)}`)) nets++;
record('left behind: processes / mounts / codex32 cgroups / networks', `${leftProcs} / ${mounts} / ${cgroups} / ${nets}`, '', '0 / 0 / 0 / 0');

// report
const lines = [`codex32 at scale — ${new Date().toISOString()} — ${COUNT} containers${USERNET ? ' on one user network' : ''}, ${CLIS} CLIs`, ''];
for (const r of results) {
  const v = typeof r.value === 'number' ? `${r.value.toFixed(r.unit === '' ? 0 : r.unit === 'MB' ? 2 : 1)} ${r.unit}` : typeof r.value === 'object' ? r.value.error : r.value;
  lines.push(`${r.label.padEnd(62)} ${String(v).padStart(14)}   target ${r.target}`);
}
if (firstErrors.length) lines.push('', 'first start errors:', ...firstErrors.map((e) => `  ${e}`));
lines.push('', 'host limits that bound the count:', ...Object.entries(limits).map(([k, v]) => `  ${k}: ${v}`));
console.log(lines.join('\n'));
mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(join(ROOT, 'bench', 'results', USERNET ? 'scale-usernet.json' : 'scale.json'), JSON.stringify({ date: new Date().toISOString(), count: COUNT, clis: CLIS, userNetwork: USERNET, results, limits }, null, 2));
rmSync(storage, { recursive: true, force: true });
