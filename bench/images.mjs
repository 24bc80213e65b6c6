// Image benchmarks: pulling a three-layer image of about 30 MB from a loopback docker-registry beside
// `podman pull` of the same image in the same run, what the store costs on disk for two images that
// share a base, and `run --rm IMAGE true` beside `run --rm host true`. Not a test. Results on stdout
// and in bench/results/images.json.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { BIN, ROOT, benchStorage, median, which } from './lib.mjs';

const quick = process.argv.includes('--quick');
const N = quick ? 3 : 7;
const results = {};
const record = (key, label, value, unit, extra = {}) => (results[key] = { label, value, unit, ...extra });
const missing = ['docker-registry', 'buildah', 'podman'].filter((t) => !which(t));
if (missing.length) {
  console.log(`image benchmarks not run: ${missing.join(', ')} missing (make bench-anchors or scripts/test-setup.sh)`);
  process.exit(0);
}

const work = mkdtempSync(join(tmpdir(), 'c32-bench-img-'));
const freePort = () => new Promise((res) => { const s = createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => res(p)); }); });
const reg = `127.0.0.1:${await freePort()}`;
writeFileSync(join(work, 'registry.yml'), `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${join(work, 'registry')}\nhttp:\n  addr: ${reg}\n`);
const registry = spawn('docker-registry', ['serve', join(work, 'registry.yml')], { stdio: 'ignore' });
process.on('exit', () => registry.kill('SIGTERM'));
for (let i = 0; i < 200 && !(await fetch(`http://${reg}/v2/`).then((r) => r.ok, () => false)); i++) await new Promise((r) => setTimeout(r, 100));

// ---- the images: a busybox base, then two layers of 12 MiB of random bytes each (they do not compress),
// and a second image on the same base with one small layer of its own
const B = ['buildah', '--root', join(work, 'broot'), '--runroot', join(work, 'brun'), '--storage-driver', 'vfs'];
const bah = (args) => execFileSync(B[0], [...B.slice(1), ...args], { encoding: 'utf8' }).trim();
const layer = (from, fill, tag) => {
  const c = bah(['from', from]);
  fill(bah(['mount', c]));
  bah(['commit', '-q', c, tag]);
};
layer('scratch', (m) => {
  for (const d of ['bin', 'etc']) mkdirSync(join(m, d));
  execFileSync('cp', ['/bin/busybox', join(m, 'bin/busybox')]);
  for (const l of ['sh', 'true', 'ls', 'cat']) execFileSync('ln', ['-s', 'busybox', join(m, 'bin', l)]);
  writeFileSync(join(m, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
}, 'localhost/bench-base:1');
layer('localhost/bench-base:1', (m) => writeFileSync(join(m, 'data1.bin'), randomBytes(12 << 20)), 'localhost/bench-mid:1');
layer('localhost/bench-mid:1', (m) => writeFileSync(join(m, 'data2.bin'), randomBytes(12 << 20)), 'localhost/bench-app:1');
layer('localhost/bench-base:1', (m) => writeFileSync(join(m, 'other.txt'), 'a second image on the same base\n'), 'localhost/bench-other:1');
for (const n of ['app', 'other']) bah(['push', '-q', '--tls-verify=false', `localhost/bench-${n}:1`, `docker://${reg}/bench/${n}:1`]);
const manifest = await (await fetch(`http://${reg}/v2/bench/app/manifests/1`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' } })).json();
const imageMB = manifest.layers.reduce((s, l) => s + l.size, 0) / 1e6;
record('image', `the pulled image: ${manifest.layers.length} layers, compressed size`, imageMB, 'MB');

// ---- pull, each time into an empty store: codex32 beside podman (vfs, as podman needs no overlay set-up)
const APP = `${reg}/bench/app:1`;
const du = (p) => Number(execFileSync('du', ['-sb', p], { encoding: 'utf8' }).split('\t')[0]) / 1e6;
const times = { codex32: [], podman: [] };
const errors = {};
for (let round = 0; round < N; round++) {
  const { storage, env } = benchStorage('c32-bench-pull-');
  let t0 = performance.now();
  const c = spawnSync('node', [BIN, 'pull', APP], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  if (c.status !== 0) errors.codex32 = String(c.stderr).trim().split('\n').pop();
  else times.codex32.push(performance.now() - t0);
  rmSync(storage, { recursive: true, force: true });
  const proot = mkdtempSync(join(tmpdir(), 'c32-bench-podman-'));
  t0 = performance.now();
  const p = spawnSync('podman', ['--root', join(proot, 'root'), '--runroot', join(proot, 'run'), '--storage-driver', 'vfs', 'pull', '-q', '--tls-verify=false', APP], { stdio: ['ignore', 'ignore', 'pipe'] });
  if (p.status !== 0) errors.podman = String(p.stderr).trim().split('\n').pop();
  else times.podman.push(performance.now() - t0);
  rmSync(proot, { recursive: true, force: true });
}
const pull = errors.codex32 ? { error: errors.codex32 } : median(times.codex32);
const podmanPull = errors.podman ? { error: `podman pull failed: ${errors.podman}` } : median(times.podman);
record('pull', `codex32 pull (${imageMB.toFixed(1)} MB, ${manifest.layers.length} layers, loopback registry, empty store)`, pull, 'ms', { anchor: { 'podman pull (vfs)': podmanPull } });
if (typeof pull === 'number' && typeof podmanPull === 'number') record('pull_ratio', 'codex32 pull / podman pull (target ≤ 1)', pull / podmanPull, '×');

// ---- disk: one image, then a second that shares the base
const { storage, env } = benchStorage('c32-bench-disk-');
const cli = (args) => execFileSync(BIN, args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
const store = join(storage, 'oci');
cli(['pull', APP]);
const one = du(store);
cli(['pull', `${reg}/bench/other:1`]);
const two = du(store);
record('disk_one', 'store on disk after one image (blobs + unpacked layers)', one, 'MB');
record('disk_two', 'store on disk after a second image sharing the base', two, 'MB', { anchor: { 'added by the second image': two - one } });

// ---- run --rm IMAGE true beside run --rm host true, timed in turn within each round
const runTimes = { image: [], host: [] };
for (let round = 0; round <= N * 2; round++)
  for (const [k, image] of [['image', APP], ['host', 'host']]) {
    const t0 = performance.now();
    const r = spawnSync('node', [BIN, 'run', '--rm', '--network', 'host', image, 'true'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    if (r.status !== 0) errors[k] = String(r.stderr).trim().split('\n').pop();
    else if (round > 0) runTimes[k].push(performance.now() - t0);
  }
const runImage = errors.image ? { error: errors.image } : median(runTimes.image);
const runHost = errors.host ? { error: errors.host } : median(runTimes.host);
record('run_image', 'codex32 run --rm PULLED-IMAGE true (standard)', runImage, 'ms', { anchor: { 'run --rm host true': runHost } });
if (typeof runImage === 'number' && typeof runHost === 'number') record('run_ratio', 'run of the pulled image / run of host (target ≤ 1.10)', runImage / runHost, '×');
rmSync(storage, { recursive: true, force: true });
registry.kill('SIGTERM');
rmSync(work, { recursive: true, force: true });

const fmt = (x, unit) => (typeof x === 'number' ? `${x.toFixed(unit === '×' ? 2 : 1)} ${unit}` : x?.error ?? 'n/a');
const lines = [`codex32 image benchmarks — ${new Date().toISOString()} — medians of ${N}`, ''];
for (const r of Object.values(results)) {
  const a = r.anchor ? '   ' + Object.entries(r.anchor).map(([k, x]) => `${k} ${fmt(x, r.unit)}`).join(', ') : '';
  lines.push(`${r.label.padEnd(76)} ${fmt(r.value, r.unit).padStart(12)}${a}`);
}
console.log(lines.join('\n'));
mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(join(ROOT, 'bench', 'results', 'images.json'), JSON.stringify({ date: new Date().toISOString(), results }, null, 2));
