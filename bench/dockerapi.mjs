// Every Docker API call of the docker CLI beside dockerd in the same run: the same /usr/bin/docker (20.10)
// against both servers, interleaved call by call (the order of the two swapped each round, so a noisy
// moment falls on both), medians. Both serve the same image from a loopback registry, with no network
// (dockerd runs with --iptables=false --bridge=none, every container with --network none).
// `ps` is timed with 50 running containers, `ps -a` with 1000 (the 50 running and 950 created, not run:
// 1000 running would take most of the time budget on dockerd). Not a test. `--quick` for a fast pass.
// Results on stdout and in bench/results/dockerapi.json.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Docker from 'dockerode';
import { codexServiceBeside, loopbackRegistry, spawnDockerd, umountUnder, waitFor } from './docker-lib.mjs';
import { ROOT, benchStorage, median, which } from './lib.mjs';

const quick = process.argv.includes('--quick');
const arg = (k) => process.argv.find((a) => a.startsWith(`--${k}=`))?.slice(k.length + 3);
const N = Number(arg('rounds') ?? (quick ? 3 : 9));
// --only=inspect,logs: just the calls whose label starts with one of these (a closer look at a few)
const only = arg('only')?.split(',');
const RUNNING = 50;
const ALL = quick ? 300 : 1000;
const LOG_BYTES = 10 * 1024 * 1024;
const DOCKER = '/usr/bin/docker';
const missing = ['dockerd', 'docker-registry', 'buildah'].filter((t) => !which(t));
if (missing.length || !existsSync(DOCKER)) {
  console.log(`Docker API benchmarks not run: ${[...missing, ...(existsSync(DOCKER) ? [] : ['docker'])].join(', ')} missing (make bench-anchors)`);
  process.exit(0);
}
const work = mkdtempSync(join(tmpdir(), 'c32-bench-dapi-'));
const started = Date.now();

// ---- the images: busybox to run, and a small one of its own that each round removes and pulls again
const registry = await loopbackRegistry(work, 'busybox');
const IMAGE = registry.image;
const B = ['buildah', '--root', join(work, 'broot'), '--runroot', join(work, 'brun'), '--storage-driver', 'vfs'];
const bah = (args) => execFileSync(B[0], [...B.slice(1), ...args], { encoding: 'utf8' }).trim();
const pc = bah(['from', 'scratch']);
execFileSync('sh', ['-c', `head -c 1048576 /dev/urandom > ${join(bah(['mount', pc]), 'payload')}`]);
bah(['commit', '-q', pc, 'localhost/bench-pull:1']);
const PULLED = `${registry.reg}/bench/pull:1`;
bah(['push', '-q', '--tls-verify=false', 'localhost/bench-pull:1', `docker://${PULLED}`]);

// ---- the two servers
const dockerd = spawnDockerd(work);
const { storage, env } = benchStorage('c32-bench-dapi-st-', { CONTAINER_ISOLATION_LEVEL: 'standard' });
const ourSock = join(storage, 'docker.sock');
const service = codexServiceBeside(ourSock, env, dockerd, registry);
const hosts = { dockerd: `unix://${dockerd.sock}`, codex32: `unix://${ourSock}` };
const denv = (host) => ({ ...process.env, DOCKER_HOST: host, DOCKER_CONFIG: join(work, 'cfg') });
const docker = (host, args) => spawnSync(DOCKER, args, { env: denv(host), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
const must = (k, args) => {
  const r = docker(hosts[k], args);
  if (r.status !== 0) throw new Error(`${k}: docker ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout.trim();
};
await waitFor(() => Object.values(hosts).every((h) => docker(h, ['version']).status === 0), 'dockerd and codex32 system service');
const clients = Object.fromEntries(Object.entries(hosts).map(([k, h]) => [k, new Docker({ socketPath: h.slice(7) })]));

/** Run fn over items, at most `width` at a time. */
async function pool(items, width, fn) {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => { while (next < items.length) await fn(items[next++]); }));
}

// a shell that ends at SIGTERM (as PID 1 it would otherwise wait out stop's timeout), having said hello
const IDLE = ['sh', '-c', 'echo hello; trap "exit 0" TERM; sleep 3600 & wait'];
const NONE = ['--network', 'none'];
for (const k of Object.keys(hosts)) {
  must(k, ['pull', '-q', IMAGE]);
  must(k, ['run', '-d', '--name', 'benchx', ...NONE, IMAGE, ...IDLE]);
  must(k, ['run', '-d', '--name', 'benchlog', ...NONE, IMAGE, 'sh', '-c', `yes 'a line of the log, some sixty bytes long, as applications write' | head -c ${LOG_BYTES}`]);
  await pool(Array.from({ length: RUNNING - 1 }, (_, i) => i), 4, async (i) => {
    const c = await clients[k].createContainer({ Image: IMAGE, Cmd: ['sleep', '3600'], name: `idle${i}`, HostConfig: { NetworkMode: 'none' } });
    await c.start();
  });
  must(k, ['wait', 'benchlog']);
}

// ---- the calls, each timed against both servers within each round
const calls = [];
const t = {};
/** A call: label, and fn(k) that runs it and returns its time in ms (setup outside the timing is the fn's own). */
const call = (label, fn) => {
  calls.push({ label, fn });
  t[label] = { codex32: [], dockerd: [] };
};
const timed = (k, args) => {
  const t0 = performance.now();
  must(k, args);
  return performance.now() - t0;
};
const made = { codex32: [], dockerd: [] };
call('run --rm', (k) => timed(k, ['run', '--rm', ...NONE, IMAGE, 'true']));
call('run -d', (k) => {
  const t0 = performance.now();
  const id = must(k, ['run', '-d', ...NONE, IMAGE, ...IDLE]);
  const ms = performance.now() - t0;
  must(k, ['rm', '-f', id]); // untimed: ps keeps its count of running containers
  return ms;
});
call('create', (k) => {
  const t0 = performance.now();
  made[k].push(must(k, ['create', ...NONE, IMAGE, ...IDLE]));
  return performance.now() - t0;
});
call('start', (k) => timed(k, ['start', made[k].at(-1)]));
call('exec', (k) => timed(k, ['exec', 'benchx', 'true']));
call(`ps (${RUNNING} running)`, (k) => timed(k, ['ps']));
call('inspect', (k) => timed(k, ['inspect', 'benchx']));
call('logs (10 MiB, whole)', (k) => timed(k, ['logs', 'benchlog']));
call('logs --tail 100 (of 10 MiB)', (k) => timed(k, ['logs', '--tail', '100', 'benchlog']));
call('logs -f, first line', async (k) => {
  const t0 = performance.now();
  const p = spawn(DOCKER, ['logs', '-f', 'benchx'], { env: denv(hosts[k]), stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((res, rej) => {
    p.stdout.once('data', res);
    p.once('exit', (c) => rej(new Error(`${k}: docker logs -f exited ${c} before its first line`)));
  });
  const ms = performance.now() - t0;
  p.removeAllListeners('exit');
  p.kill('SIGTERM');
  return ms;
});
call('stats --no-stream', (k) => timed(k, ['stats', '--no-stream', 'benchx']));
call('stop', (k) => timed(k, ['stop', made[k].at(-1)]));
call('rm', (k) => timed(k, ['rm', made[k].pop()]));
call('pull (1 MiB layer)', (k) => {
  docker(hosts[k], ['rmi', PULLED]);
  return timed(k, ['pull', '-q', PULLED]);
});
call('images', (k) => timed(k, ['images']));
call('events --since (whole run) --until now', (k) => timed(k, ['events', '--since', String(Math.floor(started / 1000) - 1), '--until', String(Math.floor(Date.now() / 1000))]));

async function rounds(list) {
  for (let round = 0; round <= N; round++) {
    const order = round % 2 ? ['codex32', 'dockerd'] : ['dockerd', 'codex32'];
    for (const c of list)
      for (const k of order) {
        const ms = await c.fn(k);
        if (round) t[c.label][k].push(ms); // round 0 warms both up
      }
  }
}
if (only) calls.splice(0, calls.length, ...calls.filter((c) => only.some((o) => c.label.startsWith(o))));
console.error(`${calls.length} calls, ${N} rounds (and a warm-up) against both`);
await rounds(calls);

const psAll = `ps -a (${ALL} containers)`;
if (!only || only.some((o) => psAll.startsWith(o))) console.error(`creating containers up to ${ALL} on each`);
// ---- ps -a with ALL containers: the running ones and the rest created, not run
for (const k of Object.keys(hosts)) {
  if (only && !only.some((o) => psAll.startsWith(o))) break;
  const have = must(k, ['ps', '-aq']).split('\n').filter(Boolean).length;
  await pool(Array.from({ length: Math.max(0, ALL - have) }, (_, i) => i), 8, (i) => clients[k].createContainer({ Image: IMAGE, Cmd: ['true'], name: `made${i}`, HostConfig: { NetworkMode: 'none' } }));
}
if (!only || only.some((o) => psAll.startsWith(o))) {
  call(psAll, (k) => timed(k, ['ps', '-a']));
  await rounds(calls.slice(-1));
}

// the docker CLI's own floor: starting it and talking to no server
const floor = [];
for (let i = 0; i <= N; i++) {
  const t0 = performance.now();
  spawnSync(DOCKER, ['--version'], { stdio: 'ignore' });
  if (i) floor.push(performance.now() - t0);
}

for (const k of Object.keys(hosts)) {
  const running = must(k, ['ps', '-q']).split('\n').filter(Boolean);
  if (running.length) docker(hosts[k], ['rm', '-f', ...running]);
}
const serviceGone = service.exitCode !== null || service.signalCode !== null ? Promise.resolve() : new Promise((r) => service.once('exit', r));
service.kill('SIGTERM');
await dockerd.stop();
registry.stop();
await serviceGone;
umountUnder(work);
rmSync(storage, { recursive: true, force: true });
rmSync(work, { recursive: true, force: true });

const results = Object.fromEntries(
  calls.map(({ label }) => {
    const [ours, theirs] = [median(t[label].codex32), median(t[label].dockerd)];
    return [label, { codex32: ours, dockerd: theirs, ratio: ours / theirs }];
  }),
);
const lines = [`codex32 Docker API beside dockerd — ${new Date().toISOString()} — docker CLI 20.10, medians of ${N}, target: ratio ≤ 1`, ''];
lines.push(`${'call'.padEnd(40)} ${'codex32 ms'.padStart(11)} ${'dockerd ms'.padStart(11)} ${'ratio'.padStart(7)}`);
for (const [label, r] of Object.entries(results))
  lines.push(`${label.padEnd(40)} ${r.codex32.toFixed(1).padStart(11)} ${r.dockerd.toFixed(1).padStart(11)} ${r.ratio.toFixed(2).padStart(7)}${r.ratio > 1 ? '  ✗' : ''}`);
lines.push('', `the docker CLI's own start (docker --version, no server): ${median(floor).toFixed(1)} ms`);
console.log(lines.join('\n'));
mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
if (!only) writeFileSync(join(ROOT, 'bench', 'results', 'dockerapi.json'), JSON.stringify({ date: new Date().toISOString(), rounds: N, cliFloorMs: median(floor), results }, null, 2));
