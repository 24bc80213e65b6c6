// The Docker API beside dockerd in the same run: the exec round trip (`docker exec c true`, and
// dockerode's exec) and create, start, wait and remove of `true` over the API. Both serve the same image
// from a loopback registry, with no network (dockerd runs with --iptables=false --bridge=none).
// Not a test. Results on stdout and in bench/results/dockerapi.json.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Docker from 'dockerode';
import { BIN, ROOT, benchStorage, median, which } from './lib.mjs';

const quick = process.argv.includes('--quick');
const N = quick ? 5 : 15;
const DOCKER = '/usr/bin/docker';
const missing = ['dockerd', 'docker-registry', 'buildah'].filter((t) => !which(t));
if (missing.length || !existsSync(DOCKER)) {
  console.log(`Docker API benchmarks not run: ${[...missing, ...(existsSync(DOCKER) ? [] : ['docker'])].join(', ')} missing (make bench-anchors)`);
  process.exit(0);
}
const work = mkdtempSync(join(tmpdir(), 'c32-bench-dapi-'));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const freePort = () => new Promise((res) => { const s = createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => res(p)); }); });
const waitFor = async (fn, what) => { for (let i = 0; i < 300; i++) { if (await fn()) return; await sleep(100); } throw new Error(`${what} did not come up`); };

// ---- an image both can run: busybox, pushed to a loopback registry
const reg = `127.0.0.1:${await freePort()}`;
writeFileSync(join(work, 'registry.yml'), `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${join(work, 'registry')}\nhttp:\n  addr: ${reg}\n`);
const registry = spawn('docker-registry', ['serve', join(work, 'registry.yml')], { stdio: 'ignore' });
const B = ['buildah', '--root', join(work, 'broot'), '--runroot', join(work, 'brun'), '--storage-driver', 'vfs'];
const bah = (args) => execFileSync(B[0], [...B.slice(1), ...args], { encoding: 'utf8' }).trim();
const c = bah(['from', 'scratch']);
const m = bah(['mount', c]);
mkdirSync(join(m, 'bin'));
execFileSync('cp', ['/bin/busybox', join(m, 'bin/busybox')]);
execFileSync('/bin/busybox', ['--install', '-s', join(m, 'bin')]);
execFileSync('sh', ['-c', `cd ${join(m, 'bin')} && for l in *; do [ -L "$l" ] && ln -sf busybox "$l"; done`]);
bah(['commit', '-q', c, 'localhost/bench-busybox:1']);
await waitFor(() => fetch(`http://${reg}/v2/`).then((r) => r.ok, () => false), 'the registry');
bah(['push', '-q', '--tls-verify=false', 'localhost/bench-busybox:1', `docker://${reg}/bench/busybox:1`]);
const IMAGE = `${reg}/bench/busybox:1`;

// ---- the two servers
const ddSock = join(work, 'dockerd.sock');
const dockerd = spawn('dockerd', ['--iptables=false', '--ip6tables=false', '--bridge=none', '--storage-driver', 'vfs', '--data-root', join(work, 'dd-data'), '--exec-root', join(work, 'dd-exec'), '--pidfile', join(work, 'dd.pid'), '-H', `unix://${ddSock}`], { stdio: 'ignore' });
const { storage, env } = benchStorage('c32-bench-dapi-st-', { CONTAINER_ISOLATION_LEVEL: 'standard' });
const ourSock = join(storage, 'docker.sock');
const service = spawn('node', [BIN, 'system', 'service', '--socket', ourSock], { env, stdio: 'ignore' });
const hosts = { dockerd: `unix://${ddSock}`, codex32: `unix://${ourSock}` };
const docker = (host, args) => spawnSync(DOCKER, args, { env: { ...process.env, DOCKER_HOST: host, DOCKER_CONFIG: join(work, 'cfg') }, encoding: 'utf8' });
await waitFor(() => Object.values(hosts).every((h) => docker(h, ['version']).status === 0), 'dockerd and codex32 system service');
for (const h of Object.values(hosts)) {
  const p = docker(h, ['pull', '-q', IMAGE]);
  if (p.status !== 0) throw new Error(`pull failed: ${p.stderr}`);
  docker(h, ['run', '-d', '--name', 'benchx', '--network', 'none', IMAGE, 'sleep', '3600']);
}

// ---- the figures, each server timed in turn within each round so a noisy moment falls on both
const results = {};
const times = (fn) => Object.fromEntries(Object.keys(hosts).map((k) => [k, []]));
const cli = times();
const node = times();
const lifecycle = times();
const clients = Object.fromEntries(Object.entries(hosts).map(([k, h]) => [k, new Docker({ socketPath: h.slice(7) })]));
const dockerodeExec = async (d) => {
  const e = await d.getContainer('benchx').exec({ Cmd: ['true'], AttachStdout: true, AttachStderr: true });
  const s = await e.start({ Detach: false });
  s.resume();
  await new Promise((r) => s.on('end', r));
  return (await e.inspect()).ExitCode;
};
const cycle = async (d) => {
  const ctr = await d.createContainer({ Image: IMAGE, Cmd: ['true'], HostConfig: { NetworkMode: 'none' } });
  await ctr.start();
  const w = await ctr.wait();
  await ctr.remove();
  return w.StatusCode;
};
for (let round = 0; round <= N; round++)
  for (const k of Object.keys(hosts)) {
    let t0 = performance.now();
    const r = docker(hosts[k], ['exec', 'benchx', 'true']);
    if (r.status !== 0) throw new Error(`${k}: docker exec failed: ${r.stderr}`);
    if (round) cli[k].push(performance.now() - t0);
    t0 = performance.now();
    if ((await dockerodeExec(clients[k])) !== 0) throw new Error(`${k}: dockerode exec failed`);
    if (round) node[k].push(performance.now() - t0);
    t0 = performance.now();
    if ((await cycle(clients[k])) !== 0) throw new Error(`${k}: create/start/wait/remove failed`);
    if (round) lifecycle[k].push(performance.now() - t0);
  }
// the docker CLI's own floor: starting it and talking to no server
const floor = [];
for (let i = 0; i <= N; i++) {
  const t0 = performance.now();
  spawnSync(DOCKER, ['--version'], { stdio: 'ignore' });
  if (i) floor.push(performance.now() - t0);
}
const record = (key, label, t) => {
  results[key] = { label, value: median(t.codex32), unit: 'ms', anchor: { dockerd: median(t.dockerd) }, ratio: median(t.codex32) / median(t.dockerd) };
};
record('cli_exec', '`docker exec c true` (docker CLI 20.10)', cli);
record('dockerode_exec', 'dockerode exec of true, stream read, exit code inspected', node);
record('lifecycle', 'dockerode create, start, wait and remove of true', lifecycle);

for (const h of Object.values(hosts)) docker(h, ['rm', '-f', 'benchx']);
service.kill('SIGTERM');
dockerd.kill('SIGTERM');
registry.kill('SIGTERM');
await new Promise((r) => dockerd.once('exit', r));
rmSync(storage, { recursive: true, force: true });
rmSync(work, { recursive: true, force: true });

const lines = [`codex32 Docker API benchmarks — ${new Date().toISOString()} — medians of ${N}, target: at most ⅓ of dockerd`, ''];
lines.push(`the docker CLI's own start (docker --version, no server): ${median(floor).toFixed(1)} ms`);
for (const r of Object.values(results))
  lines.push(`${r.label.padEnd(62)} ${`${r.value.toFixed(1)} ms`.padStart(10)}   dockerd ${r.anchor.dockerd.toFixed(1)} ms   ×${r.ratio.toFixed(2)}`);
console.log(lines.join('\n'));
mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(join(ROOT, 'bench', 'results', 'dockerapi.json'), JSON.stringify({ date: new Date().toISOString(), cliFloorMs: median(floor), results }, null, 2));
