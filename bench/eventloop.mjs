// How long the library holds its host's event loop: each operation kind (create, start, exec, copy, stop,
// remove) at every isolation level and network mode, measured with monitorEventLoopDelay (1 ms resolution)
// over many rounds from a process with a large heap (300 MB, as a server embedding the library); max and
// p99 per operation, beside the anchors measured in the same run: an idle loop (what the machine alone
// costs), a bare spawn of `true` from this process (libuv forks it whole on the event loop's thread: what
// each process the library starts would cost without its launcher) and one through the launcher.
// Not a test. Results on stdout and in bench/results/eventloop.json.
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PerformanceObserver, constants as perf, monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { ROOT, benchStorage, median } from './lib.mjs';

const { ContainerEngine } = await import(join(ROOT, 'dist', 'index.js'));
const { privateNetworkMissing } = await import(join(ROOT, 'dist', 'engine', 'network.js'));
const { spawnProcess } = await import(join(ROOT, 'dist', 'runtime', 'spawn.js'));
const quick = process.argv.includes('--quick');
const HEAP_MB = 300;
// the embedding server's memory: live objects (their pages are what a fork copies the tables of)
const ballast = [];
for (const target = process.memoryUsage.rss() + HEAP_MB * 2 ** 20; process.memoryUsage.rss() < target; ) ballast.push(Array.from({ length: 128 * 1024 }, (_, i) => ({ i })));
const ROUNDS = quick ? 3 : 10;
const { storage } = benchStorage('c32-bench-evl-');
const engine = new ContainerEngine({ storageDir: storage, isolation: 'standard' });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const KINDS = ['create', 'start', 'exec', 'copy', 'stop', 'remove'];

// The host heap's collections: a mark-compact of the embedding server's 300 MB is an atomic pause of
// 100-400 ms here, a scavenge now and then 5-20 ms, whoever's allocation set it off; a round that held a
// pause of 3 ms or more is kept apart, with the pause
const GC_KINDS = { [perf.NODE_PERFORMANCE_GC_MAJOR]: 'major', [perf.NODE_PERFORMANCE_GC_MINOR]: 'minor', [perf.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental', [perf.NODE_PERFORMANCE_GC_WEAKCB]: 'weak' };
const gcPauses = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) if (e.duration >= 3) gcPauses.push({ start: e.startTime, ms: e.duration, kind: GC_KINDS[e.detail?.kind] ?? 'gc' });
}).observe({ entryTypes: ['gc'] });

/** Each watched run's longest delay and 99th percentile (ms); rounds that held a major GC apart, with its pause. */
const samples = () => ({ max: [], p99: [], gcRounds: 0, gcMax: 0, gcPause: 0, gcKinds: [] });
/** Run op with the loop watched; its max and p99 delay go to into. */
async function watched(into, op) {
  const from = performance.now(); // the histogram's window opens here, before the tick that starts its clock
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  await sleep(5); // the first tick only starts the histogram's clock
  try {
    return await op();
  } finally {
    await sleep(2);
    h.disable();
    await sleep(1); // a GC's entry is delivered after it
    const gc = gcPauses.filter((g) => g.start + g.ms >= from);
    if (gc.length) {
      into.gcRounds++;
      for (const g of gc) if (!into.gcKinds.includes(g.kind)) into.gcKinds.push(g.kind);
      into.gcMax = Math.max(into.gcMax, h.max / 1e6);
      into.gcPause = Math.max(into.gcPause, ...gc.map((g) => g.ms));
    } else {
      into.max.push(h.max / 1e6);
      into.p99.push(h.percentile(99) / 1e6);
    }
  }
}

const noPrivate = privateNetworkMissing().length > 0;
const cases = [
  ['minimal', 'host'],
  ['standard', 'none'],
  ['standard', 'host'],
  ['standard', 'private'],
  ['standard', 'usernet'],
  ['strict', 'none'],
  ['strict', 'private'],
  ['strict', 'usernet'],
].filter(([, mode]) => !noPrivate || mode === 'host' || mode === 'none');

const results = {};
// the anchor: an idle loop, watched in slices as long as an operation
const idle = samples();
for (let i = 0; i < ROUNDS * 6; i++) await watched(idle, () => sleep(40));
const summary = (s) => ({ max: s.max.length ? Math.max(...s.max) : NaN, p99: s.p99.length ? median(s.p99) : NaN, ...(s.gcRounds ? { gcRounds: s.gcRounds, gcMax: s.gcMax, gcPause: s.gcPause, gcKinds: s.gcKinds } : {}) });
results.idle = summary(idle);
const spawned = samples();
for (let i = 0; i < ROUNDS * 6; i++) await watched(spawned, () => new Promise((r) => spawn('true').on('close', r)));
results.spawn = summary(spawned);
const launched = samples();
await new Promise((r) => spawnProcess('true', []).on('close', r)); // starts the launcher: once per engine, a fork of this process
for (let i = 0; i < ROUNDS * 6; i++) await watched(launched, () => new Promise((r) => spawnProcess('true', []).on('close', r)));
results.launched = summary(launched);

// the first call of each kind in this process loads and compiles its code (tar for a copy, zod's schema
// for a create): once per process, so kept apart from the rounds that show what every later call costs
const first = Object.fromEntries(KINDS.map((k) => [k, samples()]));
for (const [level, mode] of cases) {
  const all = Object.fromEntries(KINDS.map((k) => [k, samples()]));
  let error;
  for (let i = 0; i < ROUNDS && !error; i++) {
    const hist = level === cases[0][0] && mode === cases[0][1] && i === 0 ? first : all;
    const name = `bevl-${level}-${mode}-${i}`;
    const net = `bevlnet-${level}`;
    try {
      if (mode === 'usernet') await engine.network.create({ name: net });
      const network = mode === 'usernet' || level === 'minimal' ? {} : { network: mode };
      const networks = mode === 'usernet' ? { networks: [{ name: net, aliases: [] }] } : {};
      const publish = mode === 'private' ? { publish: [{ hostIp: '127.0.0.1', hostPort: 0, containerPort: 8000, protocol: 'tcp' }] } : {};
      await watched(hist.create, () => engine.create({ name, image: 'host', command: ['sleep', '300'], isolation: level, ...network, ...networks, ...publish }));
      await watched(hist.start, () => engine.start(name));
      await watched(hist.exec, () => engine.exec(name, ['sh', '-c', 'echo hi']));
      await watched(hist.copy, () => engine.writeFiles(name, [{ path: '/tmp/bench.txt', content: 'x'.repeat(1024 * 1024) }]));
      await watched(hist.copy, () => engine.readFiles(name, ['/tmp/bench.txt']));
      await watched(hist.stop, () => engine.stop(name, { timeout: 5 }));
      await watched(hist.remove, () => engine.remove(name, { force: true }));
      if (mode === 'usernet') await engine.network.remove(net);
    } catch (e) {
      error = e.message;
      await engine.remove(name, { force: true }).catch(() => undefined);
      if (mode === 'usernet') await engine.network.remove(net).catch(() => undefined);
    }
  }
  results[`${level}/${mode}`] = error ? { error } : Object.fromEntries(KINDS.map((k) => [k, summary(all[k])]));
}
engine.close();
rmSync(storage, { recursive: true, force: true });

const ms = (x) => x.toFixed(1).padStart(6);
const lines = [`codex32 event-loop delay — ${new Date().toISOString()} — ${ROUNDS} rounds per case, ms: longest delay of any round / median of each round's p99`, ''];
lines.push(`${'level / network'.padEnd(20)}${KINDS.map((k) => k.padStart(16)).join('')}`);
for (const [key, r] of Object.entries(results)) {
  if (key === 'idle' || key === 'spawn' || key === 'launched' || key === 'first') continue;
  lines.push(r.error ? `${key.padEnd(20)}  failed: ${r.error}` : `${key.padEnd(20)}${KINDS.map((k) => `${ms(r[k].max)} / ${ms(r[k].p99)}`.padStart(16)).join('')}`);
}
const withGc = Object.entries(results).flatMap(([key, r]) => (r.error ? [] : key in { idle: 1, spawn: 1, launched: 1 } ? [[key, r]] : KINDS.map((k) => [`${key} ${k}`, r[k]]))).filter(([, r]) => r.gcRounds);
results.first = Object.fromEntries(KINDS.map((k) => [k, summary(first[k])]));
lines.push(`${'first call (once)'.padEnd(20)}${KINDS.map((k) => `${ms(results.first[k].max)} / ${ms(results.first[k].p99)}`.padStart(16)).join('')}`);
lines.push(
  '',
  `rounds left out above because a GC pause of 3 ms or more of this process's heap fell in them (the delay then is the`,
  `  collector's, whoever's allocation set it off): ${withGc.map(([k, r]) => `${k} ×${r.gcRounds} (delay ${r.gcMax.toFixed(0)} ms, ${r.gcKinds.join('+')} GC pause ${r.gcPause.toFixed(0)} ms)`).join('; ') || 'none'}`,
  `anchors in the same run (RSS ${(process.memoryUsage.rss() / 2 ** 20).toFixed(0)} MB): an idle loop max ${results.idle.max.toFixed(1)} ms, p99 ${results.idle.p99.toFixed(1)} ms;`,
  `  one spawn of \`true\` from this process max ${results.spawn.max.toFixed(1)} ms, p99 ${results.spawn.p99.toFixed(1)} ms; through the launcher max ${results.launched.max.toFixed(1)} ms, p99 ${results.launched.p99.toFixed(1)} ms`,
);
console.log(lines.join('\n'));
mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(join(ROOT, 'bench', 'results', 'eventloop.json'), JSON.stringify({ date: new Date().toISOString(), rounds: ROUNDS, results }, null, 2));
