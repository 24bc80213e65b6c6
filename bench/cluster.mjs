// Cluster mode: how requests to one port spread over 2 instances, and how many of 1000 requests fail
// while `codex32 bot reload` replaces the instances back to back, beside `pm2 reload` of the same app
// in PM2's cluster mode when pm2 is installed. Not a test. Results on stdout and in bench/results/cluster.json.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, ROOT, benchStorage, which } from './lib.mjs';

const TOTAL = 1000;
const APP = join(ROOT, 'test', 'fixtures', 'pm2', 'http.js');
const results = {};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const freePort = () => new Promise((res) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const { port } = s.address();
    s.close(() => res(port));
  });
});

/** Run a command without blocking the clients' event loop; rejects on a non-zero exit. */
const run = (cmd, args, env) => new Promise((res, rej) => {
  const p = spawn(cmd, args, { env, stdio: 'ignore' });
  p.on('exit', (code) => (code === 0 ? res() : rej(new Error(`${cmd} ${args.join(' ')} exited ${code}`))));
});

/** One request on a fresh connection: the answering process's id, or throws. */
const ask = (port) => new Promise((res, rej) => {
  const req = get({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 10_000 }, (r) => {
    let body = '';
    r.on('data', (d) => (body += d));
    r.on('end', () => (r.statusCode === 200 ? res(body.trim()) : rej(new Error(`status ${r.statusCode}`))));
  });
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', rej);
});

/** Wait until the port answers from `want` distinct processes. */
async function ready(port, want) {
  for (let i = 0; i < 600; i++) {
    const ids = new Set();
    for (let j = 0; j < 20; j++) await ask(port).then((id) => ids.add(id), () => undefined);
    if (ids.size >= want) return;
    await sleep(100);
  }
  throw new Error(`port ${port} never answered from ${want} processes`);
}

/** Spread of 100 requests over the processes answering, as counts. */
async function spread(port) {
  const counts = {};
  for (let i = 0; i < 100; i++) {
    const id = await ask(port);
    counts[id] = (counts[id] ?? 0) + 1;
  }
  return Object.values(counts).sort((a, b) => b - a);
}

/** TOTAL requests (2 at a time) sent while `reload` runs over and over; the failures and the reloads done. */
async function duringReloads(port, reload) {
  let sent = 0;
  let failed = 0;
  const errors = new Set();
  let reloads = 0;
  let reloading = true;
  const looper = (async () => {
    while (sent < TOTAL) {
      await reload();
      reloads++;
    }
    reloading = false;
  })();
  const client = async () => {
    while (sent < TOTAL) {
      sent++;
      await ask(port).catch((e) => (failed++, errors.add(e.message)));
      await sleep(2); // spread the 1000 over the reloads rather than between two of them
    }
  };
  await Promise.all([client(), client()]);
  await looper;
  return { failed, sent, reloads, errors: [...errors], stillReloading: reloading };
}

async function codex32() {
  const { storage, env } = benchStorage('c32-bench-cluster-', { CONTAINER_ISOLATION_LEVEL: 'standard' });
  const port = await freePort();
  const file = join(storage, 'eco.json');
  writeFileSync(file, JSON.stringify({ apps: [{ name: 'web', script: APP, exec_mode: 'cluster', instances: 2, port, kill_timeout: 5000 }] }));
  const cli = (args) => execFileSync(BIN, args, { env, encoding: 'utf8' });
  try {
    cli(['bot', 'apply', file]);
    await ready(port, 2);
    const s = await spread(port);
    const r = await duringReloads(port, () => run(BIN, ['bot', 'reload', 'web'], env));
    return { spread: s, ...r };
  } finally {
    try {
      cli(['bot', 'rm', 'all']);
    } catch {
      /* nothing left */
    }
    rmSync(storage, { recursive: true, force: true });
  }
}

async function pm2() {
  const home = mkdtempSync(join(tmpdir(), 'c32-bench-pm2-'));
  const env = { ...process.env, PM2_HOME: home };
  const port = await freePort();
  const file = join(home, 'eco.json');
  writeFileSync(file, JSON.stringify({ apps: [{ name: 'web', script: APP, exec_mode: 'cluster', instances: 2, env: { PORT: String(port) }, kill_timeout: 5000 }] }));
  const pm = (args) => execFileSync('pm2', args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    pm(['start', file]);
    await ready(port, 2);
    const s = await spread(port);
    const r = await duringReloads(port, () => run('pm2', ['reload', 'web'], env));
    return { spread: s, ...r };
  } finally {
    try {
      pm(['kill']);
    } catch {
      /* its daemon is gone already */
    }
    rmSync(home, { recursive: true, force: true });
  }
}

const show = (label, r) => process.stdout.write(`${label.padEnd(30)} failed ${r.failed} of ${r.sent} during ${r.reloads} reloads; 100 requests spread ${r.spread.join('/')}${r.errors.length ? `; errors: ${r.errors.join(', ')}` : ''}\n`);
results.codex32 = await codex32();
show('codex32 bot reload (nftables)', results.codex32);
if (which('pm2')) {
  results.pm2 = await pm2();
  show('pm2 reload (node cluster)', results.pm2);
} else process.stdout.write('pm2 not installed: no comparison\n');
mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(join(ROOT, 'bench', 'results', 'cluster.json'), JSON.stringify(results, null, 2) + '\n');
