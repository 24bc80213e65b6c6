// `codex32 bot ls` beside `pm2 ls` over the same number of idle bots (20, then 200), timed in turn within
// each round so both see the same load. Not a test. Results on stdout and in bench/results/bots.json.
// `node bench/bots.mjs --quick` runs fewer rounds.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { BIN, ROOT, benchStorage, median, which } from './lib.mjs';

const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 3 : 7;
const COUNTS = [20, 200];
if (!which('pm2')) {
  console.log('bot benchmarks not run: pm2 missing (make bench-anchors installs it from the npm registry)');
  process.exit(0);
}

const work = mkdtempSync(join(tmpdir(), 'c32-bench-bots-'));
// an idle bot of a few hundred KiB, so 200 of each fit beside the rest of the machine
const idle = join(work, 'idle.sh');
writeFileSync(idle, '#!/bin/sh\nexec sleep 100000\n');
chmodSync(idle, 0o755);

const time = (cmd, args, env) => {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${String(r.stderr).trim().split('\n').pop()}`);
  return { ms: performance.now() - t0, out: String(r.stdout) };
};

const results = {};
for (const n of COUNTS) {
  const { storage, env } = benchStorage('c32-bench-bots-');
  const pm2Env = { ...process.env, PM2_HOME: join(work, `pm2-${n}`) };
  const apps = Array.from({ length: n }, (_, i) => ({ name: `idle-${i}`, script: idle, interpreter: 'sh' }));
  writeFileSync(join(work, `eco-${n}.json`), JSON.stringify({ apps }));
  try {
    time('node', [BIN, 'bot', 'apply', join(work, `eco-${n}.json`)], env);
    time('pm2', ['start', join(work, `eco-${n}.json`)], pm2Env);
    const ours = time('node', [BIN, 'bot', 'ls'], env).out;
    const theirs = time('pm2', ['jlist'], pm2Env).out;
    const up = (ours.match(/ running /g) ?? []).length;
    const pm2Up = (JSON.parse(theirs.slice(theirs.indexOf('['))) ?? []).filter((a) => a.pm2_env?.status === 'online').length;
    if (up !== n || pm2Up !== n) throw new Error(`expected ${n} bots running, codex32 has ${up} and pm2 ${pm2Up}`);
    const t = { codex32: [], pm2: [] };
    for (let round = 0; round <= ROUNDS; round++) {
      const a = time('node', [BIN, 'bot', 'ls'], env).ms;
      const b = time('pm2', ['ls'], pm2Env).ms;
      if (round > 0) t.codex32.push(a), t.pm2.push(b); // round 0 warms both
    }
    const ours50 = median(t.codex32);
    const pm2_50 = median(t.pm2);
    results[`ls_${n}`] = { label: `codex32 bot ls, ${n} bots`, value: ours50, unit: 'ms', anchor: { 'pm2 ls': pm2_50 } };
    results[`ls_${n}_ratio`] = { label: `bot ls / pm2 ls, ${n} bots (target ≤ 1.00)`, value: ours50 / pm2_50, unit: '×' };
  } catch (e) {
    results[`ls_${n}`] = { label: `codex32 bot ls, ${n} bots`, value: { error: e.message }, unit: 'ms' };
  } finally {
    spawnSync('node', [BIN, 'bot', 'rm', 'all'], { env, stdio: 'ignore' });
    spawnSync('pm2', ['kill'], { env: pm2Env, stdio: 'ignore' });
    rmSync(storage, { recursive: true, force: true });
  }
}
rmSync(work, { recursive: true, force: true });

const fmt = (x, unit) => (typeof x === 'number' ? `${x.toFixed(unit === '×' ? 2 : 1)} ${unit}` : x?.error ?? 'n/a');
const lines = [`codex32 bot benchmarks — ${new Date().toISOString()} — medians of ${ROUNDS}`, ''];
for (const r of Object.values(results)) {
  const a = r.anchor ? '   ' + Object.entries(r.anchor).map(([k, x]) => `${k} ${fmt(x, r.unit)}`).join(', ') : '';
  lines.push(`${r.label.padEnd(56)} ${fmt(r.value, r.unit).padStart(12)}${a}`);
}
console.log(lines.join('\n'));
mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(join(ROOT, 'bench', 'results', 'bots.json'), JSON.stringify({ date: new Date().toISOString(), results }, null, 2));
