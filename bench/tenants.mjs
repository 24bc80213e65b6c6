// Tenant benchmarks: what each strict container's own uid range costs (a strict start with idmapped layers
// and with a shifted copy of the layers per range, and that copy's disk), and what a disk quota costs
// (create with and without --storage-opt size), each beside an anchor measured in the same run. Not a
// test. Results on stdout and in bench/results/tenants.json.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { BIN, ROOT, benchStorage, median } from './lib.mjs';

const quick = process.argv.includes('--quick');
const N = quick ? 3 : 7;
const results = {};
const record = (key, label, value, unit, extra = {}) => (results[key] = { label, value, unit, ...extra });
if (process.getuid() !== 0) {
  console.log('tenant benchmarks not run: strict isolation and quotas need root');
  process.exit(0);
}

const { storage, env } = benchStorage('c32-bench-tenants-');
const cli = (args, extra = {}) => {
  const r = spawnSync(BIN, args, { env: { ...env, ...extra }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`codex32 ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
};
const timed = (args, extra) => {
  const t = performance.now();
  cli(args, extra);
  return performance.now() - t;
};
const du = (p) => (existsSync(p) ? Number(execFileSync('du', ['-sb', p], { encoding: 'utf8' }).split('\t')[0]) / 1e6 : 0);

// ---- an image of a real tree: busybox and the host's Python standard library (many small files, as images have)
const root = join(storage, 'rootfs');
mkdirSync(join(root, 'bin'), { recursive: true });
copyFileSync('/bin/busybox', join(root, 'bin', 'busybox'));
chmodSync(join(root, 'bin', 'busybox'), 0o755);
for (const t of ['sh', 'true', 'sleep', 'head', 'cat']) symlinkSync('busybox', join(root, 'bin', t));
const py = ['/usr/lib/python3.11', '/usr/lib/python3'].find((p) => existsSync(p));
if (py) execFileSync('cp', ['-a', py, join(root, 'lib-tree')]);
else writeFileSync(join(root, 'data.bin'), Buffer.alloc(32 << 20, 1));
execFileSync('tar', ['-C', root, '--numeric-owner', '-cf', join(storage, 'img.tar'), '.']);
rmSync(root, { recursive: true, force: true });
const { ContainerEngine } = await import(join(ROOT, 'dist', 'index.js'));
const engine = new ContainerEngine({ storageDir: storage });
await engine.image.importTar(join(storage, 'img.tar'), 'tenant:1');
engine.close();
const imageMB = du(join(storage, 'oci', 'layers'));
record('image', `the image's unpacked layer (${py ? 'busybox + ' + py : 'busybox + 32 MB'})`, imageMB, 'MB');

// ---- strict starts: every container a range of its own, so a first start in a range is what a tenant pays
const shifted = join(storage, 'oci', 'layers-shifted');
const modes = { idmapped: {}, 'shifted-copy': { CODEX32_IDMAPPED_LAYERS: '0' } };
const idmapHere = cli(['info']).includes('Strict layers:      idmapped');
const starts = { standard: [], idmapped: [], 'shifted-copy': [] };
for (let i = 0; i < N; i++) {
  starts.standard.push(timed(['run', '-d', '--name', `s${i}`, '--isolation', 'standard', 'tenant:1', 'sleep', '600']));
  for (const [mode, extra] of Object.entries(modes)) {
    if (mode === 'idmapped' && !idmapHere) continue;
    // remove every strict container first: the next one takes the lowest free range, whose copy is then new
    rmSync(shifted, { recursive: true, force: true });
    starts[mode].push(timed(['run', '-d', '--name', `${mode}-${i}`, '--isolation', 'strict', 'tenant:1', 'sleep', '600'], extra));
    cli(['rm', '-f', `${mode}-${i}`]);
  }
}
cli(['rm', '-f', ...Array.from({ length: N }, (_, i) => `s${i}`)]);
const std = median(starts.standard);
record('start_standard', 'run -d IMAGE (standard), the anchor', std, 'ms');
for (const mode of Object.keys(modes)) {
  if (!starts[mode].length) {
    record(`start_${mode}`, `run -d --isolation strict IMAGE, ${mode} layers`, { error: 'not offered by this kernel' }, 'ms');
    continue;
  }
  const m = median(starts[mode]);
  record(`start_${mode}`, `run -d --isolation strict IMAGE in a new range, ${mode} layers`, m, 'ms', { anchor: { standard: std } });
  record(`start_${mode}_ratio`, `  / run -d (standard)`, m / std, '×');
}
// the fallback's disk: K live strict containers hold K ranges, each with its own copy of every layer
const K = 4;
for (let i = 0; i < K; i++) cli(['run', '-d', '--name', `k${i}`, '--isolation', 'strict', 'tenant:1', 'sleep', '600'], modes['shifted-copy']);
const copies = du(shifted);
record('shifted_disk', `disk of the shifted copies for ${K} live strict containers (fallback)`, copies, 'MB', { anchor: { 'one image': imageMB } });
record('shifted_disk_per_range', '  per uid range, / the image', copies / K / imageMB, '×');
cli(['rm', '-f', ...Array.from({ length: K }, (_, i) => `k${i}`)]);
if (idmapHere) {
  rmSync(shifted, { recursive: true, force: true });
  for (let i = 0; i < K; i++) cli(['run', '-d', '--name', `k${i}`, '--isolation', 'strict', 'tenant:1', 'sleep', '600']);
  record('idmapped_disk', `disk of shifted copies for ${K} live strict containers (idmapped layers)`, du(shifted), 'MB');
  cli(['rm', '-f', ...Array.from({ length: K }, (_, i) => `k${i}`)]);
}

// ---- the disk quota: create with and without one, and what an untouched quota takes of the host's disk
const creates = { plain: [], quota: [] };
for (let i = 0; i < N; i++) {
  creates.plain.push(timed(['create', '--name', `p${i}`, 'tenant:1', 'true']));
  creates.quota.push(timed(['create', '--name', `q${i}`, '--storage-opt', 'size=1g', 'tenant:1', 'true']));
}
const id = cli(['inspect', '--format', '{{.Id}}', 'q0']);
const imgBytes = statSync(join(storage, 'containers', id, 'disk.img')).blocks * 512;
const rmTimes = { plain: [], quota: [] };
for (let i = 0; i < N; i++) {
  rmTimes.plain.push(timed(['rm', `p${i}`]));
  rmTimes.quota.push(timed(['rm', `q${i}`]));
}
record('create_plain', 'create IMAGE, the anchor', median(creates.plain), 'ms');
record('create_quota', 'create --storage-opt size=1g IMAGE (loop-mounted ext4)', median(creates.quota), 'ms', { anchor: { plain: median(creates.plain) } });
record('create_quota_ratio', '  / create', median(creates.quota) / median(creates.plain), '×');
record('rm_quota', 'rm of a container with a quota (unmount)', median(rmTimes.quota), 'ms', { anchor: { plain: median(rmTimes.plain) } });
record('quota_host_disk', 'host disk an untouched 1g quota takes (sparse image: ext4 metadata)', imgBytes / 1e6, 'MB');
rmSync(storage, { recursive: true, force: true });

const fmt = (x, unit) => (typeof x === 'number' ? `${x.toFixed(unit === '×' ? 2 : 1)} ${unit}` : x?.error ?? 'n/a');
const lines = [`codex32 tenant benchmarks — ${new Date().toISOString()} — medians of ${N}`, ''];
for (const r of Object.values(results)) {
  const a = r.anchor ? '   ' + Object.entries(r.anchor).map(([k, x]) => `${k} ${fmt(x, r.unit)}`).join(', ') : '';
  lines.push(`${r.label.padEnd(78)} ${fmt(r.value, r.unit).padStart(12)}${a}`);
}
console.log(lines.join('\n'));
mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(join(ROOT, 'bench', 'results', 'tenants.json'), JSON.stringify({ date: new Date().toISOString(), results }, null, 2));
