// codex32 benchmarks: medians over repeated runs, printed beside anchors measured in the same run.
// Not a test: nothing here passes or fails. Results: a table on stdout and bench/results/latest.json.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { BIN, anchorRootDir, ROOT, benchStorage, median, startService, which } from './lib.mjs';
import { ContainerEngine } from '../dist/index.js';
import { probeHost } from '../dist/runtime/probe.js';
import { capabilityMask } from '../dist/runtime/plan.js';
import { compiledSeccomp, seccompFilters } from '../dist/runtime/seccomp.js';
import { shimPath } from '../dist/runtime/supervisor.js';

const quick = process.argv.includes('--quick');
const N = quick ? 5 : 21;
const { storage, env } = benchStorage('c32-bench-');
const host = probeHost();
const results = {};


/** Median wall time in ms of a command run n times (after one warm-up). */
function timeCmd(cmd, args, n = N, opts = {}) {
  spawnSync(cmd, args, { env, stdio: 'ignore', ...opts });
  const xs = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const r = spawnSync(cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'], ...opts });
    xs.push(performance.now() - t0);
    if (r.status !== 0) return { error: `exit ${r.status}: ${String(r.stderr ?? '').trim().split('\n').pop()}` };
  }
  return { median: median(xs), n };
}

function record(key, label, value, unit, anchors = {}, target) {
  results[key] = { label, value, unit, anchors, ...(target ? { target } : {}) };
}

// The floor every CLI command stands on: Node starting and exiting, in the environment bin/codex32 gives
// itself (it drops NODE_EXTRA_CA_CERTS, which costs Node 40-75 ms at every start). Measured again between
// the sections below and the median of all its samples kept, so a slow hour falls on it too.
const nodeEnv = { ...env };
delete nodeEnv.NODE_EXTRA_CA_CERTS;
const floorSamples = [];
function sampleFloor(n = 7) {
  for (let i = 0; i <= n; i++) {
    const t0 = performance.now();
    spawnSync('node', ['-e', '0'], { env: nodeEnv, stdio: 'ignore' });
    if (i > 0) floorSamples.push(performance.now() - t0);
  }
}
/** A CLI figure held against `node -e 0` + budget ms (the targets of docs/benchmarks.md). */
function recordVsNode(key, label, value, budget, anchors = {}) {
  record(key, label, value, 'ms', anchors, { budget });
}
sampleFloor();

function fmt(v, unit) {
  if (v === undefined || v === null) return 'n/a';
  if (typeof v === 'object') return v.error ?? 'n/a';
  return `${v.toFixed(unit === 'MB/s' || unit === 'ms' ? 1 : 2)} ${unit}`;
}

// ---- (a) codex32 run --rm host true, per isolation level, beside the anchors
const runAnchors = {};
if (which('bwrap'))
  runAnchors.bubblewrap = timeCmd('bwrap', ['--ro-bind', '/usr', '/usr', '--symlink', 'usr/bin', '/bin', '--symlink', 'usr/lib', '/lib', '--symlink', 'usr/lib64', '/lib64', '--proc', '/proc', '--dev', '/dev', '--unshare-pid', '--unshare-ipc', '--unshare-uts', 'true']).median;
runAnchors.unshare = timeCmd('unshare', ['-pfmiu', '--mount-proc', 'true']).median;
// runc and podman get the root codex32's standard level builds: the host's /usr read-only, the rest empty
const anchorRoot = anchorRootDir();
if (which('runc')) {
  const bundle = mkdtempSync(join(tmpdir(), 'c32-runc-'));
  execFileSync('runc', ['spec'], { cwd: bundle });
  const spec = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
  spec.root = { path: anchorRoot, readonly: true };
  spec.process.terminal = false;
  spec.process.args = ['true'];
  spec.mounts = spec.mounts.filter((m) => m.destination !== '/sys/fs/cgroup');
  spec.mounts.push({ destination: '/usr', type: 'bind', source: '/usr', options: ['rbind', 'ro'] });
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));
  let i = 0;
  const xs = [];
  for (let k = 0; k <= N; k++) {
    const t0 = performance.now();
    const r = spawnSync('runc', ['run', '--bundle', bundle, `c32bench${process.pid}-${i++}`], { stdio: 'ignore' });
    if (k > 0) xs.push(performance.now() - t0);
    if (r.status !== 0) {
      xs.length = 0;
      break;
    }
  }
  if (xs.length) runAnchors.runc = median(xs);
  rmSync(bundle, { recursive: true, force: true });
}
// podman with runc: on this hybrid cgroup host its crun default fails; a failing anchor is reported, never dropped
const PODMAN = ['--runtime', 'runc'];
const PODMAN_RUN = ['run', '--network', 'host', '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024', '-v', '/usr:/usr:ro', '--rootfs', anchorRoot];
const anchorErrors = {};
/** A command's median, or its failure recorded under the anchor's name. */
function anchor(name, r) {
  if (typeof r?.median === 'number') return r.median;
  anchorErrors[name] = r?.error ?? 'not measured';
  return undefined;
}
if (which('podman')) runAnchors.podman = anchor('podman run', timeCmd('podman', [...PODMAN, ...PODMAN_RUN.slice(0, 1), '--rm', ...PODMAN_RUN.slice(1), 'true'], Math.min(N, 11)));
else anchorErrors['podman run'] = 'podman is not installed (make bench-anchors)';
{
  // the levels are timed in turn within each round, so a noisy moment falls on all of them alike
  const levels = ['minimal', 'standard', 'strict'].filter((l) => host.levels[l].supported);
  const times = Object.fromEntries(levels.map((l) => [l, []]));
  for (let i = 0; i <= N; i++)
    for (const level of levels) {
      const t0 = performance.now();
      // on the host's network, as the podman and runc anchors are (bench/network.mjs times private networks)
      spawnSync(BIN, ['run', '--rm', '--isolation', level, ...(level === 'standard' ? ['--network', 'host'] : []), 'host', 'true'], { env, stdio: 'ignore' });
      if (i > 0) times[level].push(performance.now() - t0);
    }
  for (const level of levels) {
    const label = `(a) codex32 run --rm --isolation ${level}${level === 'standard' ? ' --network host' : ''} host true`;
    if (level === 'standard') record(`run_${level}`, label, median(times[level]), 'ms', runAnchors, { budget: 35, podmanShare: 0.5 });
    else record(`run_${level}`, label, median(times[level]), 'ms', runAnchors);
  }
  if (times.standard && times.minimal) {
    const diffs = times.standard.map((t, i) => t - times.minimal[i]);
    record('standard_minus_minimal', '(a) standard minus minimal, paired per round', median(diffs), 'ms');
  }
}
recordVsNode('cli_floor', 'codex32 --version (CLI start-up floor)', timeCmd(BIN, ['--version']).median, 10);
sampleFloor();

// ---- (i) exec into a running container and inspect it, beside podman exec and podman inspect
{
  spawnSync(BIN, ['run', '-d', '--name', 'benchexec', 'host', 'sleep', '600'], { env, stdio: 'ignore' });
  const execAnchors = {};
  const inspectAnchors = {};
  if (which('podman')) {
    const name = `c32bench${process.pid}`;
    const up = spawnSync('podman', [...PODMAN, ...PODMAN_RUN.slice(0, 1), '-d', '--name', name, ...PODMAN_RUN.slice(1), 'sleep', '600'], { stdio: ['ignore', 'ignore', 'pipe'] });
    if (up.status === 0) {
      execAnchors.podman = anchor('podman exec', timeCmd('podman', [...PODMAN, 'exec', name, 'true'], Math.min(N, 11)));
      inspectAnchors.podman = anchor('podman inspect', timeCmd('podman', ['inspect', name], Math.min(N, 11)));
    } else anchorErrors['podman exec'] = `podman run -d failed: ${String(up.stderr).trim().split('\n').pop()}`;
    spawnSync('podman', ['rm', '-f', '-t', '0', name], { stdio: 'ignore' });
  }
  const ex = timeCmd(BIN, ['exec', 'benchexec', 'true']);
  recordVsNode('exec', '(i) codex32 exec NAME true', ex.median ?? ex, 25, execAnchors);
  const ins = timeCmd(BIN, ['inspect', 'benchexec']);
  recordVsNode('inspect', '(i) codex32 inspect NAME', ins.median ?? ins, 25, inspectAnchors);
  spawnSync(BIN, ['rm', '-f', 'benchexec'], { env, stdio: 'ignore' });
}

// ---- (b) in-process create + start + wait of `true`
const engine = new ContainerEngine({ storageDir: storage });
for (const level of ['minimal', 'standard']) {
  if (!host.levels[level].supported) continue;
  const xs = [];
  for (let i = 0; i <= N; i++) {
    const t0 = performance.now();
    const c = await engine.create({ image: 'host', command: ['true'], isolation: level, ...(level === 'standard' ? { network: 'host' } : {}) });
    await c.start();
    await c.wait();
    if (i > 0) xs.push(performance.now() - t0);
    await c.remove(true);
  }
  record(`inproc_${level}`, `(b) in-process create+start+wait of true (${level})`, median(xs), 'ms');
}

// ---- (b') the seccomp filter's cost: standard with the default filter beside unconfined, paired per round,
// and the one-time compile of the default profile (cached by content afterwards)
if (host.levels.standard.supported) {
  const times = { default: [], unconfined: [] };
  for (let i = 0; i <= N; i++)
    for (const seccomp of ['default', 'unconfined']) {
      const t0 = performance.now();
      const c = await engine.create({ image: 'host', command: ['true'], isolation: 'standard', network: 'none', seccomp }); // no network set-up to drown the difference
      await c.start();
      await c.wait();
      if (i > 0) times[seccomp].push(performance.now() - t0);
      await c.remove(true);
    }
  record('inproc_seccomp', "(b') in-process run of true, standard, --network none, default seccomp filter", median(times.default), 'ms');
  record('inproc_unconfined', "(b') the same, standard, seccomp=unconfined", median(times.unconfined), 'ms');
  record('seccomp_cost', "(b') filter minus unconfined, paired per round", median(times.default.map((t, i) => t - times.unconfined[i])), 'ms');
  const compile = [];
  for (let i = 0; i < Math.min(N, 7); i++) {
    rmSync(join(storage, 'seccomp'), { recursive: true, force: true });
    const t0 = performance.now();
    compiledSeccomp(join(storage, 'seccomp'), seccompFilters('standard', undefined, capabilityMask({ isolation: 'standard' })), shimPath());
    compile.push(performance.now() - t0);
  }
  record('seccomp_compile', "(b') compiling the default filter once (libseccomp, 3 architectures)", median(compile), 'ms');
}

// ---- (c) supervisor PSS per idle container, and (e) one stats sample over 100 containers
const COUNT = quick ? 20 : 100;
const started = [];
for (let i = 0; i < COUNT; i++) {
  const c = await engine.create({ image: 'host', command: ['sleep', '600'], isolation: 'minimal', name: `idle${i}` });
  await c.start();
  started.push(c);
}
const pss = [];
for (const c of started) {
  const row = engine.get(c.id);
  const smaps = readFileSync(`/proc/${row.state.shim.pid}/smaps_rollup`, 'utf8');
  pss.push(Number(/^Pss:\s+(\d+) kB/m.exec(smaps)[1]));
}
const sleepPss = (() => {
  const pid = started.length ? engine.get(started[0].id).state.init.pid : undefined;
  return pid ? Number(/^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))[1]) : undefined;
})();
record('shim_pss', `(c) supervisor PSS per idle container (median of ${COUNT})`, median(pss) / 1024, 'MB', { 'conmon (published)': 1.0, 'the container\'s own sleep': sleepPss / 1024 });
const statTimes = [];
for (let i = 0; i < (quick ? 3 : 7); i++) {
  const t0 = performance.now();
  const s = await engine.stats();
  statTimes.push(performance.now() - t0);
  if (s.length !== COUNT) throw new Error(`stats saw ${s.length} containers`);
}
record('stats_sample', `(e) one stats sample over ${COUNT} running containers`, median(statTimes), 'ms');

// ---- (h) the service: GET /api/containers with these containers, and its own memory
{
  const { svc, url } = await startService(env);
  const lat = [];
  for (let i = 0; i <= N; i++) {
    const t0 = performance.now();
    const body = await (await fetch(`${url}/api/containers`, { headers: { authorization: "Bearer bench" } })).json(); // reads need the token too
    if (i > 0) lat.push(performance.now() - t0);
    if (body.length !== COUNT) throw new Error(`the service listed ${body.length} containers`);
  }
  const smaps = readFileSync(`/proc/${svc.pid}/smaps_rollup`, 'utf8');
  const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(smaps)[1]);
  record('api_containers', `(h) GET /api/containers with ${COUNT} containers`, median(lat), 'ms');
  record('service_rss', '(h) the service process: RSS after those requests', kb('Rss') / 1024, 'MB');
  record('service_pss', '(h) the service process: PSS after those requests', kb('Pss') / 1024, 'MB');
  svc.kill('SIGTERM');
  await new Promise((r) => svc.once('exit', r));
}
for (const c of started) await c.remove(true);

// ---- (d) codex32 ps -a with 1000 containers in the database
const rows = 1000;
engine.store.tx(() => {
  for (let i = 0; i < rows; i++) {
    const id = (i.toString(16).padStart(8, '0') + 'f'.repeat(56)).slice(0, 64);
    engine.store.insertContainer({
      id, name: `bulk${i}`, status: 'exited', createdAt: Date.now() - i * 1000,
      config: { name: `bulk${i}`, image: 'host', command: ['true'], env: {}, isolation: 'minimal', limits: {}, volumes: [], restart: { name: 'no', maxRetries: 0, backoffInitialMs: 100, backoffMaxMs: 30000, backoffResetMs: 10000 }, stopSignal: 15, stopTimeout: 10, logMaxSize: 1, logMaxFiles: 1, labels: {} },
      state: { restartCount: 0, runBase: 0, restartBase: 0, exitCode: 0, finishedAt: Date.now() },
    });
  }
});
sampleFloor();
recordVsNode('ps_1000', '(d) codex32 ps -a with 1000 containers', timeCmd(BIN, ['ps', '-a']).median, 30);
record('ps_1000_json', '(d) codex32 ps -a --json with 1000 containers', timeCmd(BIN, ['ps', '-a', '--json']).median, 'ms');
sampleFloor();
engine.store.db.prepare("DELETE FROM containers WHERE name LIKE 'bulk%'").run();

// ---- (f) log capture throughput beside `cat > file` on the same data
// Each side writes a new file on the same filesystem (the container's log is new, so the copy is removed
// before each cat: overwriting it made cat pay for truncating the last copy). Rounds alternate the two.
// `cat | cat > file` is shown too: the same bytes through one pipe, the floor of any capture through a
// pipe (GNU cat copies file to file inside the kernel, with copy_file_range, which a pipe cannot do).
const dataDir = mkdtempSync(join(tmpdir(), 'c32-logdata-'));
const data = join(dataDir, 'lines.txt');
const MB = quick ? 50 : 200;
execFileSync('sh', ['-c', `yes 'codex32 log line with some payload to look like a real bot message 0123456789' | head -c ${MB * 1024 * 1024} > ${data}`]);
const catT = [], pipeT = [], capT = [];
const timeSh = (cmd) => {
  rmSync(`${dataDir}/copy`, { force: true });
  const t0 = performance.now();
  execFileSync('sh', ['-c', cmd]);
  return performance.now() - t0;
};
for (let i = 0; i < 5; i++) {
  catT.push(timeSh(`cat ${data} > ${dataDir}/copy`));
  pipeT.push(timeSh(`cat ${data} | cat > ${dataDir}/copy`));
  rmSync(`${dataDir}/copy`, { force: true });
  const c = await engine.create({ image: 'host', command: ['cat', data], isolation: 'minimal', logMaxSize: 4 * MB * 1024 * 1024, logMaxFiles: 1 });
  const t0 = performance.now();
  await c.start();
  await c.wait();
  capT.push(performance.now() - t0);
  await c.remove(true);
}
const mbps = (ms) => MB / (ms / 1000);
// podman's conmon writes the same CRI lines (its k8s-file driver): its run of `cat` less its run of
// `true`, so its start and stop (a few hundred ms) are not counted against its capture
const logAnchors = { 'cat > file': mbps(median(catT)), 'cat | cat > file': mbps(median(pipeT)) };
if (which('podman')) {
  const podmanRun = (cmd) => {
    const t0 = performance.now();
    const up = spawnSync('podman', [...PODMAN, 'run', '-d', '--log-driver', 'k8s-file', '-v', `${dataDir}:/data:ro`, ...PODMAN_RUN.slice(1), ...cmd], { encoding: 'utf8' });
    if (up.status !== 0) throw new Error(`podman run -d failed: ${String(up.stderr).trim().split('\n').pop()}`);
    const id = up.stdout.trim();
    spawnSync('podman', ['wait', id], { stdio: 'ignore' });
    const ms = performance.now() - t0;
    const log = spawnSync('podman', ['inspect', '--format', '{{.HostConfig.LogConfig.Path}}', id], { encoding: 'utf8' }).stdout.trim();
    const size = existsSync(log) ? statSync(log).size : 0;
    spawnSync('podman', ['rm', '-f', id], { stdio: 'ignore' });
    return { ms, size };
  };
  try {
    const cat = [], idle = [];
    for (let i = 0; i < (quick ? 2 : 3); i++) {
      const r = podmanRun(['cat', '/data/lines.txt']);
      if (r.size < MB * 1024 * 1024) throw new Error(`podman's log held ${r.size} bytes when its container had exited`);
      cat.push(r.ms);
      idle.push(podmanRun(['true']).ms);
    }
    logAnchors['podman k8s-file (conmon)'] = mbps(median(cat) - median(idle));
  } catch (e) {
    anchorErrors['podman log capture'] = e.message;
  }
} else anchorErrors['podman log capture'] = 'podman is not installed (make bench-anchors)';
record('log_throughput', `(f) log capture throughput (${MB} MB of 78-byte lines)`, mbps(median(capT)), 'MB/s', logAnchors);
rmSync(dataDir, { recursive: true, force: true });

// ---- (g) restart latency: exit recorded to the next run started, with the backoff set to 1 ms
{
  const c = await engine.create({ image: 'host', command: ['true'], isolation: 'minimal', restart: { name: 'on-failure', maxRetries: 0, backoffInitialMs: 1, backoffMaxMs: 1 } });
  await engine.remove(c.id, { force: true });
  const r = await engine.create({ image: 'host', command: ['sh', '-c', 'exit 1'], isolation: 'minimal', restart: { name: 'on-failure', maxRetries: 20, backoffInitialMs: 1, backoffMaxMs: 1 } });
  await r.start();
  await r.wait();
  const runs = engine.runs(r.id);
  const gaps = runs.slice(1).map((x, i) => x.startedAt - runs[i].finishedAt);
  record('restart_latency', `(g) restart latency (exit to next start, backoff 1 ms, ${gaps.length} restarts)`, median(gaps), 'ms');
  await r.remove(true);
}
engine.close();
rmSync(storage, { recursive: true, force: true });
rmSync(anchorRoot, { recursive: true, force: true });

// ---- report
const floor = median(floorSamples);
const lines = [];
lines.push(`codex32 benchmarks — ${new Date().toISOString()} — ${N} runs per command, medians`);
lines.push(`node -e 0 (the floor of every CLI command, ${floorSamples.length} samples across the run): ${floor.toFixed(1)} ms`);
lines.push('');
for (const r of Object.values(results)) {
  let line = `${r.label.padEnd(62)} ${fmt(r.value, r.unit).padStart(12)}`;
  const anchors = Object.entries(r.anchors).filter(([, v]) => typeof v === 'number');
  if (anchors.length) line += '   ' + anchors.map(([k, v]) => `${k} ${fmt(v, r.unit)} (×${(r.value / v).toFixed(2)})`).join(', ');
  if (r.target && typeof r.value === 'number') {
    const over = r.value - floor;
    const met = [over <= r.target.budget];
    let t = `node -e 0 + ${over.toFixed(1)} ms (target + ${r.target.budget}`;
    if (r.target.podmanShare && typeof r.anchors.podman === 'number') {
      met.push(r.value <= r.target.podmanShare * r.anchors.podman);
      t += ` and ≤ ${r.target.podmanShare} × podman`;
    }
    r.target.floor = floor;
    r.target.met = met.every(Boolean);
    line += `\n${''.padEnd(62)}   ${t}): ${r.target.met ? 'met' : 'NOT MET'}`;
  }
  lines.push(line);
}
const missingAnchors = ['bwrap', 'runc', 'podman'].filter((a) => !which(a));
if (missingAnchors.length) lines.push('', `anchors not installed: ${missingAnchors.join(', ')} (make bench-anchors installs them)`);
for (const [name, why] of Object.entries(anchorErrors)) lines.push(`anchor ${name} not measured: ${why}`);
console.log(lines.join('\n'));
mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(join(ROOT, 'bench', 'results', 'latest.json'), JSON.stringify({ date: new Date().toISOString(), runs: N, nodeFloor: floor, results, anchorErrors }, null, 2));
