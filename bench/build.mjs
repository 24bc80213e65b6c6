// A six-step Dockerfile (a base from a loopback registry, COPY, two RUNs, ENV, CMD) built cold (--no-cache)
// and fully cached by `codex32 build`, by dockerd's classic builder (DOCKER_BUILDKIT=0 docker build) and
// by `podman build`, interleaved round by round in the same run. Not a test.
// Usage: node bench/build.mjs [--rounds N]   (results also in bench/results/build.json)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { BIN, ROOT, benchStorage, median, which } from './lib.mjs';
import { codexServiceBeside, loopbackRegistry, spawnDockerd, umountUnder, waitFor } from './docker-lib.mjs';

const i = process.argv.indexOf('--rounds');
const N = i > 0 ? Number(process.argv[i + 1]) : 5;
const DOCKER = '/usr/bin/docker';
const missing = ['dockerd', 'docker-registry', 'buildah', 'podman', 'runc'].filter((t) => !which(t)).concat(existsSync(DOCKER) ? [] : [DOCKER]);
if (missing.length) {
  console.log(`build benchmark not run: ${missing.join(', ')} missing (make bench-anchors)`);
  process.exit(0);
}
const work = mkdtempSync(join(tmpdir(), 'c32-bench-build-'));
const registry = await loopbackRegistry(work, 'busybox');
const ctx = join(work, 'ctx');
mkdirSync(ctx);
writeFileSync(join(ctx, 'app.txt'), 'hello from the build context\n');
writeFileSync(
  join(ctx, 'Dockerfile'),
  `FROM ${registry.image}\nCOPY app.txt /app/\nRUN cat /app/app.txt > /one && echo one >> /one\nRUN mkdir -p /data && echo two > /data/two\nENV MODE=bench\nCMD ["cat", "/app/app.txt"]\n`,
);

// the three builders, each with a private store; the base image pulled once beforehand by each
const dockerd = spawnDockerd(work);
const { storage, env } = benchStorage('c32-bench-build-st-', { CONTAINER_ISOLATION_LEVEL: 'standard' });
// codex32 twice: its CLI, and the docker CLI through `codex32 system service` (a daemon beside a daemon)
const service = codexServiceBeside(join(storage, 'docker.sock'), env, dockerd, registry);
const aenv = { ...process.env, DOCKER_HOST: `unix://${join(storage, 'docker.sock')}`, DOCKER_CONFIG: join(work, 'cfg'), DOCKER_BUILDKIT: '0' };
const denv = { ...process.env, DOCKER_HOST: `unix://${dockerd.sock}`, DOCKER_CONFIG: join(work, 'cfg'), DOCKER_BUILDKIT: '0' };
const PODMAN = ['podman', '--root', join(work, 'proot'), '--runroot', join(work, 'prun'), '--storage-driver', 'vfs', '--runtime', 'runc'];
const run = (cmd, args, e) => {
  const r = spawnSync(cmd, args, { env: e, encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr || r.stdout}`);
  return r.stdout;
};
await waitFor(() => [denv, aenv].every((e) => spawnSync(DOCKER, ['version'], { env: e }).status === 0), 'dockerd and codex32 system service');
run(DOCKER, ['pull', '-q', registry.image], denv);
run(BIN, ['pull', registry.image], env);
run(PODMAN[0], [...PODMAN.slice(1), 'pull', '-q', '--tls-verify=false', registry.image], process.env);
const builders = {
  codex32: (cold) => run(BIN, ['build', '-q', ...(cold ? ['--no-cache'] : []), '-t', 'bench/built:1', ctx], env),
  'codex32 API': (cold) => run(DOCKER, ['build', '-q', ...(cold ? ['--no-cache'] : []), '-t', 'bench/built:1', ctx], aenv),
  dockerd: (cold) => run(DOCKER, ['build', '-q', ...(cold ? ['--no-cache'] : []), '-t', 'bench/built:1', ctx], denv),
  podman: (cold) => run(PODMAN[0], [...PODMAN.slice(1), 'build', '-q', '--layers', ...(cold ? ['--no-cache'] : []), '-t', 'bench/built:1', ctx], process.env),
};

// Round 0 warms up and is not counted; each round times cold then cached for each builder, the builders'
// order rotated every round so a noisy moment falls on all.
const times = { cold: {}, cached: {} };
for (const k of Object.keys(builders)) (times.cold[k] = []), (times.cached[k] = []);
for (let round = 0; round <= N; round++) {
  const keys = Object.keys(builders);
  const order = [...keys.slice(round % keys.length), ...keys.slice(0, round % keys.length)];
  for (const k of order) {
    let t0 = performance.now();
    builders[k](true);
    const cold = performance.now() - t0;
    t0 = performance.now();
    builders[k](false);
    const cached = performance.now() - t0;
    if (round) times.cold[k].push(cold), times.cached[k].push(cached);
  }
}
// what each built prints, so a builder that quietly built something else is caught
const ran = {};
ran.codex32 = run(BIN, ['run', '--rm', 'bench/built:1'], env);
ran.dockerd = run(DOCKER, ['run', '--rm', '--network', 'none', 'bench/built:1'], denv);
ran.podman = run(PODMAN[0], [...PODMAN.slice(1), 'run', '--rm', '--network', 'none', '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024', 'bench/built:1'], process.env);

service.kill('SIGTERM');
await dockerd.stop();
registry.stop();
await new Promise((r) => (service.exitCode === null ? service.once('exit', r) : r()));
spawnSync(PODMAN[0], [...PODMAN.slice(1), 'system', 'reset', '-f'], { stdio: 'ignore' });
umountUnder(work);
umountUnder(storage);
rmSync(storage, { recursive: true, force: true });
rmSync(work, { recursive: true, force: true });

const results = {};
for (const [key, label, share] of [['cold', 'cold build (--no-cache), six steps', 1], ['cached', 'fully cached build, six steps', 0.5]]) {
  const m = Object.fromEntries(Object.keys(builders).map((k) => [k, median(times[key][k])]));
  const best = Math.min(m.codex32, m['codex32 API']);
  results[key] = { label, value: m.codex32, api: m['codex32 API'], unit: 'ms', anchor: { dockerd: m.dockerd, podman: m.podman }, ratio: m.codex32 / m.dockerd, apiRatio: m['codex32 API'] / m.dockerd, target: share === 1 ? '≤ dockerd' : '≤ ½ of dockerd', met: best / m.dockerd <= share };
}
const lines = [`codex32 build benchmark — ${new Date().toISOString()} — medians of ${N}, targets: cold ≤ dockerd's classic builder, cached ≤ ½ of it`, ''];
for (const r of Object.values(results))
  lines.push(
    `${r.label.padEnd(36)} codex32 build ${r.value.toFixed(0)} ms (×${r.ratio.toFixed(2)}), docker build through codex32 ${r.api.toFixed(0)} ms (×${r.apiRatio.toFixed(2)}); dockerd ${r.anchor.dockerd.toFixed(0)} ms, podman ${r.anchor.podman.toFixed(0)} ms   ${r.met ? 'met' : 'not met'}`,
  );
const same = new Set(Object.values(ran)).size === 1;
lines.push(`the three images print the same: ${same ? 'yes' : `no: ${JSON.stringify(ran)}`}`);
lines.push(`load average at the end: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
console.log(lines.join('\n'));
mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(join(ROOT, 'bench', 'results', 'build.json'), JSON.stringify({ date: new Date().toISOString(), rounds: N, results, samples: times }, null, 2));
