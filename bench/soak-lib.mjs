// The soak scenario, shared by bench/soak.mjs (ten minutes, 200 bots) and test/soak.test.ts (two minutes):
// restart-always bots that count their own starts, while supervisors, client CLIs and the Docker API service
// are SIGKILLed at random and 20 clients run ps, inspect, logs, stop and start. Then it checks that every
// counted start is one recorded run, that no row is stuck, that `system check` is healthy and that
// `rm -f` leaves nothing. All traffic is local: CLI processes and a unix socket.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, benchStorage } from './lib.mjs';

// each start appends the time (ms) to its own file, then the bot exits after 0.1–3 s
const BOT = 'echo $(date +%s%3N) >> /count/starts; n=$(od -An -N2 -tu2 /dev/urandom); ms=$((100 + n % 2901)); sleep $((ms/1000)).$(printf %03d $((ms%1000)))';
const TRANSIENT = new Set(['starting', 'stopping', 'removing']);
// a run the bot may not have counted: it was ended from outside before its first line, or never began
const UNCOUNTED_OK = new Set(['stopped', 'killed', 'supervisor-lost', 'setup-failed']);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pick = (xs) => xs[Math.floor(Math.random() * xs.length)];

/**
 * Match each bot's counted starts (ms times) against its recorded runs: a start inside no run is lost,
 * two starts inside one run or a run number seen twice is doubled, and a run with no start must have
 * been ended from outside. Pure, so a test can feed it a run history with one run dropped.
 */
export function matchRuns(name, starts, runs) {
  const lost = [];
  const doubled = [];
  const uncounted = {};
  const seen = new Set();
  for (const r of runs) {
    if (seen.has(r.run)) doubled.push({ name, run: r.run, why: 'run number recorded twice' });
    seen.add(r.run);
  }
  const hits = new Map();
  for (const t of starts) {
    const inRun = runs.filter((r) => r.startedAt <= t && t <= r.finishedAt);
    if (inRun.length === 0) {
      // the runs either side, to tell a gap from a run whose times are wrong
      const around = [runs.filter((r) => r.finishedAt < t).at(-1), runs.find((r) => r.startedAt > t)].filter(Boolean);
      lost.push({ name, start: t, why: 'a counted start inside no recorded run', around });
    }
    if (inRun.length > 1) doubled.push({ name, start: t, why: `a counted start inside ${inRun.length} runs` });
    for (const r of inRun) hits.set(r.run, (hits.get(r.run) ?? 0) + 1);
  }
  for (const r of runs) {
    const n = hits.get(r.run) ?? 0;
    if (n > 1) lost.push({ name, run: r.run, why: `${n} counted starts inside one run` });
    if (n === 0) {
      uncounted[r.reason] = (uncounted[r.reason] ?? 0) + 1;
      if (!UNCOUNTED_OK.has(r.reason)) doubled.push({ name, run: r.run, reason: r.reason, why: 'a run the bot never counted, ended by itself' });
    }
  }
  return { lost, doubled, uncounted };
}

/** Run the soak; resolves to its report (counts, kills, client results, and every finding). */
export async function runSoak({ minutes = 10, bots = 200, clients = 20, log = () => {} } = {}) {
  const t0 = Date.now();
  const { storage, env } = benchStorage('c32-soak-');
  const counts = mkdtempSync(join(tmpdir(), 'c32-soak-counts-'));
  const socket = join(storage, 'docker.sock');
  const names = Array.from({ length: bots }, (_, i) => `soak-${i}`);
  const live = new Map(); // client CLI pid -> killed by the soak?
  const kills = { supervisor: 0, cli: 0, service: 0 };
  const commands = {}; // op -> { ok, failed: { code: n } }
  const crashes = [];
  const samples = {}; // the first message of each refusal code, to tell a fair refusal from a wrong one
  const note = (op, outcome, message) => {
    const c = (commands[op] ??= { ok: 0, failed: {} });
    if (outcome === 'ok') c.ok++;
    else c.failed[outcome] = (c.failed[outcome] ?? 0) + 1;
    if (message && outcome.includes(':')) samples[`${op} ${outcome}`] ??= message;
  };

  /** The CLI; resolves to { code, signal, stdout, stderr, killed }. Tracked so the soak can kill it mid-command. */
  const cli = (args, tracked = false) =>
    new Promise((res) => {
      const p = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d) => (stdout += d));
      p.stderr.on('data', (d) => (stderr += d));
      if (tracked) live.set(p.pid, false);
      p.on('close', (code, signal) => {
        const killed = live.get(p.pid) === true;
        live.delete(p.pid);
        res({ code, signal, stdout, stderr, killed });
      });
    });
  /** The outcome of a client CLI command: ok, killed, its error code, or a crash (recorded with its output). */
  const outcomeOf = (args, r) => {
    if (r.killed) return 'killed';
    if (r.code === 0) return 'ok';
    const code = /\[([A-Z_]+)\]\s*$/.exec(r.stderr.trim())?.[1];
    if (/\n\s+at /.test(r.stderr) || r.signal || !code) {
      crashes.push({ args, code: r.code, signal: r.signal, stderr: r.stderr.slice(0, 2000) });
      return `crash(${r.signal ?? r.code})`;
    }
    return `${r.code}:${code}`;
  };

  /** One Docker API request on the service's socket; resolves to ok (any status below 400), the status, or down. */
  const api = (method, path) =>
    new Promise((res) => {
      const req = request({ socketPath: socket, method, path, timeout: 60_000 }, (resp) => {
        resp.resume();
        resp.on('end', () => res(resp.statusCode < 400 ? 'ok' : String(resp.statusCode)));
        resp.on('error', () => res('down'));
      });
      req.on('error', () => res('down'));
      req.on('timeout', () => req.destroy());
      req.end();
    });

  let service;
  const startService = () => {
    service = spawn(process.execPath, [BIN, 'system', 'service', '--socket', socket], { env, stdio: 'ignore' });
  };

  // the bots: created before the clock starts
  log(`creating ${bots} bots in ${storage}`);
  let next = 0;
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next < names.length) {
      const name = names[next++];
      const dir = join(counts, name);
      mkdirSync(dir);
      const r = await cli(['run', '-d', '--restart', 'always', '--network', 'none', '--name', name, '-v', `${dir}:/count`, 'host', 'sh', '-c', BOT]);
      if (r.code !== 0) throw new Error(`creating ${name} failed (${r.code}): ${r.stderr.trim()}`);
    }
  }));
  startService();
  const end = Date.now() + minutes * 60_000;
  log(`bots up after ${((Date.now() - t0) / 1000).toFixed(0)} s; soaking ${minutes} min`);

  // the clients: CLI (tracked, so the soak may kill them) and the Docker API
  const client = async () => {
    while (Date.now() < end) {
      const name = pick(names);
      const op = pick(['ps', 'inspect', 'logs', 'stop-start']);
      if (Math.random() < 0.3) {
        const q = encodeURIComponent(name);
        if (op === 'ps') note('api ps', (await api('GET', '/containers/json?all=1')));
        else if (op === 'inspect') note('api inspect', (await api('GET', `/containers/${q}/json`)));
        else if (op === 'logs') note('api logs', (await api('GET', `/containers/${q}/logs?stdout=1&stderr=1&tail=5`)));
        else {
          note('api stop', (await api('POST', `/containers/${q}/stop?t=1`)));
          note('api start', (await api('POST', `/containers/${q}/start`)));
        }
        continue;
      }
      const run = async (label, args) => {
        const r = await cli(args, true);
        note(label, outcomeOf(args, r), r.stderr.trim().split('\n').pop());
      };
      if (op === 'ps') await run('ps', ['ps', '-a']);
      else if (op === 'inspect') await run('inspect', ['inspect', name]);
      else if (op === 'logs') await run('logs', ['logs', '--tail', '5', name]);
      else {
        await run('stop', ['stop', '-t', '1', name]);
        await run('start', ['start', name]);
      }
    }
  };

  // the chaos: a supervisor every ~1.5 s, a client CLI every ~3 s, the service every ~20 s
  const chaos = async () => {
    let tick = 0;
    while (Date.now() < end) {
      await sleep(500);
      tick++;
      if (tick % 3 === 0) {
        const sup = pick(supervisors(storage));
        if (sup && tryKill(sup)) kills.supervisor++;
      }
      if (tick % 6 === 0) {
        const pids = [...live.keys()].filter((p) => live.get(p) === false);
        const pid = pick(pids);
        if (pid) {
          live.set(pid, true);
          if (tryKill(pid)) kills.cli++;
        }
      }
      if (tick % 40 === 0 && service.exitCode === null) {
        if (tryKill(service.pid)) kills.service++;
        await new Promise((r) => (service.exitCode !== null || service.signalCode ? r() : service.once('exit', r)));
        await sleep(1000);
        startService();
      }
    }
  };
  await Promise.all([chaos(), ...Array.from({ length: clients }, client)]);
  service.kill('SIGTERM');
  const soakSeconds = (Date.now() - t0) / 1000;
  log(`chaos over after ${soakSeconds.toFixed(0)} s; settling`);

  // settle: every row leaves its transient state (ps -a also replaces lost supervisors)
  const psAll = async () => {
    const r = await cli(['ps', '-a', '--json']);
    if (r.code !== 0) throw new Error(`ps -a failed (${r.code}): ${r.stderr.trim()}`);
    return JSON.parse(r.stdout);
  };
  const transient = async (states) => {
    const deadline = Date.now() + 120_000;
    for (;;) {
      const rows = await psAll();
      const stuck = rows.filter((c) => states.has(c.Status)).map((c) => `${c.Name}: ${c.Status}`);
      if (!stuck.length || Date.now() > deadline) return stuck;
      await sleep(1000);
    }
  };
  const stuck = await transient(TRANSIENT);

  // stop every bot, so each one's last run is recorded, then nothing may be left mid-way
  for (let i = 0; i < names.length; i += 50) {
    const r = await cli(['stop', '-t', '1', ...names.slice(i, i + 50)]);
    if (r.code !== 0) crashes.push({ args: ['stop', '(final)'], code: r.code, stderr: r.stderr.slice(0, 2000) });
  }
  stuck.push(...(await transient(new Set([...TRANSIENT, 'running', 'restarting']))).map((s) => `after the final stop, ${s}`));

  // every counted start against the recorded runs
  const runsOf = {};
  for (let i = 0; i < names.length; i += 50) {
    const r = await cli(['inspect', ...names.slice(i, i + 50)]);
    if (r.code !== 0) throw new Error(`inspect failed (${r.code}): ${r.stderr.trim()}`);
    for (const c of JSON.parse(r.stdout)) runsOf[c.Name.replace(/^\//, '')] = c.Runs;
  }
  const startsOf = {};
  const lost = [];
  const doubled = [];
  const uncounted = {};
  let starts = 0;
  let runs = 0;
  for (const name of names) {
    const file = join(counts, name, 'starts');
    startsOf[name] = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number) : [];
    const m = matchRuns(name, startsOf[name], runsOf[name] ?? []);
    starts += startsOf[name].length;
    runs += (runsOf[name] ?? []).length;
    lost.push(...m.lost);
    doubled.push(...m.doubled);
    for (const [k, v] of Object.entries(m.uncounted)) uncounted[k] = (uncounted[k] ?? 0) + v;
  }

  // what the event log says around the first few lost starts, to find where they went
  for (const f of lost.slice(0, 5)) {
    if (!f.start) continue;
    const r = await cli(['events', '--json', '--filter', `container=${f.name}`, '--since', String((f.start - 5000) / 1000), '--until', String((f.start + 20_000) / 1000)]);
    f.events = r.stdout.split('\n').filter(Boolean).map((l) => {
      try {
        const e = JSON.parse(l);
        return `${e.time ?? e.timeNano ?? ''} ${e.type ?? e.status ?? e.Action} ${JSON.stringify(e.attrs ?? e.Actor?.Attributes ?? {})}`;
      } catch {
        return l;
      }
    });
  }

  const checkRun = await cli(['system', 'check', '--json']);
  let check;
  try {
    check = JSON.parse(checkRun.stdout);
  } catch {
    check = { healthy: false, advice: [`unreadable (${checkRun.code}): ${checkRun.stderr.trim()}`] };
  }

  // remove everything, then look for what is left: rows, directories, supervisors, cgroups, mounts
  const ids = (await psAll()).map((c) => c.Id);
  const rm = await cli(['rm', '-f', ...ids]);
  if (rm.code !== 0) crashes.push({ args: ['rm', '-f', '(final)'], code: rm.code, stderr: rm.stderr.slice(0, 2000) });
  const leftovers = leftoversOf(storage, ids);
  const rows = await psAll();
  if (rows.length) leftovers.push(`${rows.length} rows after rm -f`);

  rmSync(counts, { recursive: true, force: true });
  if (!leftovers.length) rmSync(storage, { recursive: true, force: true });
  return {
    minutes, bots, clients, starts, runs, uncounted, lost, doubled, stuck, kills, commands, samples, crashes,
    check: { healthy: check.healthy === true && checkRun.code === 0, advice: check.advice ?? [] }, leftovers, seconds: (Date.now() - t0) / 1000, soakSeconds,
    storage, startsOf, runsOf,
  };
}

/** SIGKILL a pid; false when it was already gone. */
function tryKill(pid) {
  try {
    process.kill(pid, 'SIGKILL');
    return true;
  } catch {
    return false;
  }
}

/** The command lines of live supervisor processes (and containers' own inits) under this storage directory. */
function shimProcs(storage) {
  const want = `run\0${storage}/containers/`;
  const out = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'latin1');
      if (!cmd.includes('codex32-shim') || !cmd.includes(want)) continue;
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (f[0] !== 'Z') out.push({ pid: Number(d), ppid: Number(f[1]) });
    } catch {
      /* gone */
    }
  }
  return out;
}

/** Pids of this soak's supervisors: its shim processes whose parent is not another of them (a container's init is). */
function supervisors(storage) {
  const procs = shimProcs(storage);
  const pids = new Set(procs.map((p) => p.pid));
  return procs.filter((p) => !pids.has(p.ppid)).map((p) => p.pid);
}

/** What `rm -f` left of these containers: directories, processes, cgroups, mounts. */
function leftoversOf(storage, ids) {
  const out = [];
  const dir = join(storage, 'containers');
  const dirs = existsSync(dir) ? readdirSync(dir) : [];
  if (dirs.length) out.push(`${dirs.length} container directories`);
  const procs = shimProcs(storage);
  if (procs.length) out.push(`${procs.length} supervisor or container processes`);
  const mounts = readFileSync('/proc/self/mounts', 'utf8').split('\n').filter((l) => l.split(' ')[1]?.startsWith(storage));
  if (mounts.length) out.push(`${mounts.length} mounts under the storage directory`);
  const cg = [];
  const walk = (d, depth) => {
    if (depth > 4) return;
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      if (ids.includes(e.name)) cg.push(join(d, e.name));
      else if (depth < 4) walk(join(d, e.name), depth + 1);
    }
  };
  walk('/sys/fs/cgroup', 0);
  if (cg.length) out.push(`${cg.length} cgroups: ${cg.slice(0, 3).join(', ')}`);
  return out;
}
