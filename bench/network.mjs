// Network benchmarks: start cost of a private network beside the host's and podman's rootful bridge,
// throughput through a published port beside the host's loopback, and what a private network costs
// per idle container (processes: none; kernel memory: measured). Not a test. Results on stdout and
// in bench/results/network.json.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { BIN, anchorRootDir, ROOT, benchStorage, median, which } from './lib.mjs';

const quick = process.argv.includes('--quick');
const N = quick ? 5 : 15;
const { storage, env } = benchStorage('c32-bench-net-', { CONTAINER_ISOLATION_LEVEL: 'standard' });
const results = {};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const cli = (args) => execFileSync(BIN, args, { env, encoding: 'utf8' }).trim();
const record = (key, label, value, unit, extra = {}) => (results[key] = { label, value, unit, ...extra });

/** Median ms of each command, timed in turn within each round so a noisy moment falls on all alike. */
function timeRounds(cmds, n) {
  const times = Object.fromEntries(Object.keys(cmds).map((k) => [k, []]));
  const errors = {};
  for (let round = 0; round <= n; round++)
    for (const [k, [cmd, args]] of Object.entries(cmds)) {
      if (errors[k]) continue;
      const t0 = performance.now();
      const r = spawnSync(cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
      if (r.status !== 0) errors[k] = `exit ${r.status}: ${String(r.stderr).trim().split('\n').pop()}`;
      else if (round > 0) times[k].push(performance.now() - t0);
    }
  return Object.fromEntries(Object.keys(cmds).map((k) => [k, errors[k] ? { error: errors[k] } : median(times[k])]));
}

// ---- start cost: private beside host, beside podman --runtime runc with its default rootful network
const anchorRoot = anchorRootDir();
const podman = (net) => ['podman', ['--runtime', 'runc', 'run', '--rm', ...net, '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024', '-v', '/usr:/usr:ro', '--rootfs', anchorRoot, 'true']];
// as users run it (bin/codex32: the native run), and through Node alone beside it
const cmds = {
  private: [BIN, ['run', '--rm', '--network', 'private', 'host', 'true']],
  host: [BIN, ['run', '--rm', '--network', 'host', 'host', 'true']],
  private_node: ['node', [BIN, 'run', '--rm', '--network', 'private', 'host', 'true']],
};
if (which('podman')) {
  cmds.podman_bridge = podman([]);
  cmds.podman_host = podman(['--network', 'host']);
}
const start = timeRounds(cmds, N);
record('run_private', 'codex32 run --rm --network private host true', start.private, 'ms');
record('run_host', 'codex32 run --rm --network host host true', start.host, 'ms');
record('run_private_node', 'the same private run through Node (node bin/codex32)', start.private_node, 'ms');
if (typeof start.private === 'number' && typeof start.host === 'number')
  record('private_minus_host', 'private minus host (the network set-up and take-down)', start.private - start.host, 'ms');
if (cmds.podman_bridge) {
  record('podman_bridge', 'podman --runtime runc run --rm (default rootful network) true', start.podman_bridge, 'ms');
  record('podman_host', 'podman --runtime runc run --rm --network host true', start.podman_host, 'ms');
}
rmSync(anchorRoot, { recursive: true, force: true });

// ---- throughput: 100 MB through a published port beside the same server on the host's loopback
const MB = quick ? 30 : 100;
const www = mkdtempSync(join(tmpdir(), 'c32-bench-www-'));
writeFileSync(join(www, 'blob'), Buffer.alloc(MB * 1024 * 1024, 1));
cli(['run', '-d', '--name', 'netbench', '-v', `${www}:/www:ro`, '-p', '127.0.0.1::8080', 'host', 'python3', '-m', 'http.server', '8080', '--bind', '0.0.0.0', '--directory', '/www']);
const published = JSON.parse(cli(['inspect', 'netbench']))[0].NetworkSettings.Ports['8080/tcp'][0].HostPort;
const local = spawn('python3', ['-m', 'http.server', '0', '--bind', '127.0.0.1', '--directory', www], { stdio: ['ignore', 'pipe', 'ignore'] });
const localPort = await new Promise((r) => local.stdout.on('data', (d) => { const m = /port (\d+)/.exec(String(d)); if (m) r(m[1]); }));
const speed = (port) => {
  for (let i = 0; i < 50 && spawnSync('curl', ['-sf', '-o', '/dev/null', `http://127.0.0.1:${port}/`]).status !== 0; i++) spawnSync('sleep', ['0.1']);
  const xs = [];
  for (let i = 0; i < (quick ? 3 : 7); i++) xs.push(Number(execFileSync('curl', ['-s', '-o', '/dev/null', '-w', '%{speed_download}', `http://127.0.0.1:${port}/blob`], { encoding: 'utf8' })) / 1024 / 1024);
  return median(xs);
};
const viaPort = speed(published);
const viaLoopback = speed(localPort);
record('published_throughput', `${MB} MB through a published port (same python server)`, viaPort, 'MB/s', { anchor: { 'host loopback': viaLoopback }, ratio: viaPort / viaLoopback });
local.kill();
cli(['rm', '-f', 'netbench']);
rmSync(www, { recursive: true, force: true });

// ---- per idle container: the network's processes (none) and the kernel's memory for it
const COUNT = quick ? 10 : 40;
const slab = () => Number(/^SUnreclaim:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))[1]);
const shimPss = (ids) => median(ids.map((id) => {
  const pid = JSON.parse(cli(['inspect', id]))[0].State.Pid;
  const ppid = Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
  return Number(/^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${ppid}/smaps_rollup`, 'utf8'))[1]) / 1024;
}));
const measure = async (mode) => {
  const netProcs = () => Number(execFileSync('sh', ['-c', 'ps -eo comm | grep -cE "^(pasta|passt|slirp4netns)" || true'], { encoding: 'utf8' }).trim() || 0);
  const procsBefore = netProcs();
  const before = slab();
  const ids = [];
  for (let i = 0; i < COUNT; i++) ids.push(cli(['run', '-d', '--network', mode, 'host', 'sleep', '600']));
  await sleep(500);
  const pss = shimPss(ids);
  const procs = Math.max(0, netProcs() - procsBefore);
  const after = slab();
  cli(['rm', '-f', ...ids]);
  return { pss, procs, slabKb: (after - before) / COUNT };
};
const priv = await measure('private');
const hostNet = await measure('host');
record('pss_private', `supervisor PSS per idle container, private network (median of ${COUNT})`, priv.pss, 'MB', { anchor: { 'host network': hostNet.pss, 'pasta (measured once, idle)': 0.66 } });
record('net_processes', 'network processes per private container (pasta, slirp4netns)', priv.procs / COUNT, '');
record('slab_private', `kernel unreclaimable slab per private container (SUnreclaim delta / ${COUNT})`, priv.slabKb / 1024, 'MB', { anchor: { 'host network': hostNet.slabKb / 1024 } });

rmSync(storage, { recursive: true, force: true });
const lines = [`codex32 network benchmarks — ${new Date().toISOString()} — medians`, ''];
for (const r of Object.values(results)) {
  const v = typeof r.value === 'number' ? `${r.value.toFixed(r.unit === 'MB' ? 3 : 1)} ${r.unit}` : r.value?.error ?? 'n/a';
  const a = r.anchor ? '   ' + Object.entries(r.anchor).map(([k, x]) => `${k} ${x.toFixed(r.unit === 'MB' ? 3 : 1)} ${r.unit}`).join(', ') : '';
  lines.push(`${r.label.padEnd(72)} ${v.padStart(12)}${a}`);
}
console.log(lines.join('\n'));
mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(join(ROOT, 'bench', 'results', 'network.json'), JSON.stringify({ date: new Date().toISOString(), results }, null, 2));
