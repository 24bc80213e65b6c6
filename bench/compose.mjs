// docker-compose 1.29 `up -d` and `down -v` of test/compose.test.ts's three-service stack (a user network,
// a named volume, a published port, services found by name), codex32 through `codex32 system service`
// beside a private dockerd in the same run, interleaved round by round. Not a test.
// Usage: node bench/compose.mjs [--rounds N]   (results also in bench/results/compose.json)
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ROOT, benchStorage, median, which } from './lib.mjs';
import { codexServiceBeside, loopbackRegistry, sleep, spawnDockerd, umountUnder, waitFor } from './docker-lib.mjs';

const i = process.argv.indexOf('--rounds');
const N = i > 0 ? Number(process.argv[i + 1]) : 5;
const DOCKER = '/usr/bin/docker';
const COMPOSE = '/usr/bin/docker-compose';
const missing = ['dockerd', 'docker-registry', 'buildah'].filter((t) => !which(t)).concat([DOCKER, COMPOSE].filter((f) => !existsSync(f)));
if (missing.length) {
  console.log(`compose benchmark not run: ${missing.join(', ')} missing (make bench-anchors; scripts/test-setup.sh installs docker-compose)`);
  process.exit(0);
}
const work = mkdtempSync(join(tmpdir(), 'c32-bench-compose-'));

// The stack: codex32 runs it on its built-in `host` image (the host's /usr read-only); dockerd gets the
// same files from an image of /usr symlinks with the host's /usr bound read-only, pulled from a loopback registry.
const registry = await loopbackRegistry(work, 'usr');
const stackFile = (image, extraVolumes) => {
  const yml = readFileSync(join(ROOT, 'test/fixtures/compose/docker-compose.yml'), 'utf8').replaceAll('image: host', `image: ${image}`);
  return extraVolumes ? yml.replace(/volumes: \[("data:\/data", )?"\.\/app:\/srv:ro"\]/g, (m) => m.replace(/\]$/, `, ${extraVolumes}]`)) : yml;
};
const projects = {};
for (const [k, image, extra] of [['codex32', 'host', ''], ['dockerd', registry.image, '"/usr:/usr:ro"']]) {
  projects[k] = join(work, `project-${k}`);
  cpSync(join(ROOT, 'test/fixtures/compose/app'), join(projects[k], 'app'), { recursive: true });
  writeFileSync(join(projects[k], 'docker-compose.yml'), stackFile(image, extra));
}

// the two servers
const dockerd = spawnDockerd(work);
const { storage, env } = benchStorage('c32-bench-compose-st-', { CONTAINER_ISOLATION_LEVEL: 'standard' });
const ourSock = join(storage, 'docker.sock');
const service = codexServiceBeside(ourSock, env, dockerd, registry);
const hosts = { codex32: `unix://${ourSock}`, dockerd: `unix://${dockerd.sock}` };
const denv = (k) => ({ ...process.env, DOCKER_HOST: hosts[k], DOCKER_CONFIG: join(work, 'cfg') });
const docker = (k, args) => spawnSync(DOCKER, args, { env: denv(k), encoding: 'utf8' });
const compose = (k, args) => spawnSync(COMPOSE, ['-p', 'bench', ...args], { cwd: projects[k], env: denv(k), encoding: 'utf8', timeout: 300_000 });
await waitFor(() => Object.keys(hosts).every((k) => docker(k, ['version']).status === 0), 'dockerd and codex32 system service');
const pulled = docker('dockerd', ['pull', '-q', registry.image]);
if (pulled.status !== 0) throw new Error(`dockerd pull failed: ${pulled.stderr}`);

/** The status page once the bot has written to the store by name (the stack works end to end), or why not. */
const pageServed = async (k) => {
  let last = '';
  for (let t = 0; t < 150; t++) {
    const port = compose(k, ['port', 'web', '8080']).stdout.trim();
    if (port) {
      last = spawnSync('curl', ['-s', '-m', '2', `http://${port}/`], { encoding: 'utf8' }).stdout;
      if (/^last bot: \S+/.test(last)) return true;
    }
    await sleep(200);
  }
  return `the page never named the bot (last answer: ${JSON.stringify(last.slice(0, 80))})`;
};

// Each round times both servers, the order swapped every round so a noisy moment falls on both. Round 0 warms
// up (the first network, the image's first use) and checks that the stack works; it is not counted.
const times = { up: { codex32: [], dockerd: [] }, noop: { codex32: [], dockerd: [] }, down: { codex32: [], dockerd: [] } };
const works = {};
const graceful = {}; // round 0's plain `down -v`: the stop grace period, which -t 0 leaves out of the counted rounds
for (let round = 0; round <= N; round++) {
  const order = round % 2 ? ['dockerd', 'codex32'] : ['codex32', 'dockerd'];
  for (const k of order) {
    let t0 = performance.now();
    const up = compose(k, ['up', '-d']);
    const upMs = performance.now() - t0;
    if (up.status !== 0) throw new Error(`${k}: up -d failed: ${up.stderr}`);
    // docker-compose's own floor: the same `up -d` again, every service up to date (inspects, no change)
    t0 = performance.now();
    compose(k, ['up', '-d']);
    const noopMs = performance.now() - t0;
    if (round === 0) works[k] = await pageServed(k);
    else await sleep(1000); // let the health check and the bot's first write happen, as in use
    t0 = performance.now();
    const down = compose(k, round ? ['down', '-v', '-t', '0'] : ['down', '-v']);
    const downMs = performance.now() - t0;
    if (down.status !== 0) throw new Error(`${k}: down -v failed: ${down.stderr}`);
    if (!round) graceful[k] = downMs;
    else {
      times.up[k].push(upMs);
      times.noop[k].push(noopMs);
      times.down[k].push(downMs);
    }
  }
}

service.kill('SIGTERM');
await dockerd.stop();
registry.stop();
await new Promise((r) => (service.exitCode === null ? service.once('exit', r) : r()));
umountUnder(work);
rmSync(storage, { recursive: true, force: true });
rmSync(work, { recursive: true, force: true });

const results = {};
for (const [key, label] of [['up', '`docker-compose up -d` (network, volume, 3 services)'], ['down', '`docker-compose down -v -t 0`']]) {
  const c = median(times[key].codex32);
  const d = median(times[key].dockerd);
  results[key] = { label, value: c, unit: 'ms', anchor: { dockerd: d }, ratio: c / d, target: '≤ ½ of dockerd', met: c / d <= 0.5 };
}
const lines = [`codex32 compose benchmark — ${new Date().toISOString()} — medians of ${N}, target: each at most ½ of dockerd`, ''];
for (const r of Object.values(results))
  lines.push(`${r.label.padEnd(56)} ${`${r.value.toFixed(0)} ms`.padStart(9)}   dockerd ${r.anchor.dockerd.toFixed(0)} ms   ×${r.ratio.toFixed(2)}   ${r.met ? 'met' : 'not met'}`);
lines.push(`docker-compose's own part: \`up -d\` again with every service up to date: codex32 ${median(times.noop.codex32).toFixed(0)} ms, dockerd ${median(times.noop.dockerd).toFixed(0)} ms`);
lines.push(`plain \`down -v\` (once, with the 10 s stop grace): codex32 ${graceful.codex32.toFixed(0)} ms, dockerd ${graceful.dockerd.toFixed(0)} ms`);
for (const [k, w] of Object.entries(works)) lines.push(`${k}: the bot reaches the store by name and the page is served: ${w === true ? 'yes' : w}`);
lines.push(`load average at the end: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
console.log(lines.join('\n'));
mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(join(ROOT, 'bench', 'results', 'compose.json'), JSON.stringify({ date: new Date().toISOString(), rounds: N, results, graceful, works, samples: times }, null, 2));
