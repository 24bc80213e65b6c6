// Every promise a bot file makes is kept by the bot's own supervisor, with no other codex32 process
// running: no `serve`, no bot manager, no CLI. The bots are applied, then only their run directories
// (what the supervisor records) and the files it writes are read.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dayjsToStrftime, fnmatchGlobs } from '../src/executor/keep.js';
import { cronTimes, refillCronTimes } from '../src/runtime/keep-plan.js';
import { RUN_FILES } from '../src/runtime/contract.js';
import { readExits } from '../src/runtime/supervisor.js';
import type { RunRecord } from '../src/state/types.js';
import { botSandbox, missing, ROOT, sleep, until } from './helpers.js';

const { engine, ex, logsOf } = botSandbox('c32-unattended-');

/** A directory of its own holding the test bot (test/fixtures/pm2/app.js). */
function appDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'c32-unattended-app-'));
  cpSync(join(ROOT, 'test', 'fixtures', 'pm2', 'app.js'), join(dir, 'app.js'));
  writeFileSync(join(dir, 'package.json'), '{"type":"commonjs"}');
  return dir;
}

type Extra = Record<string, unknown> & { deployment?: Record<string, unknown> };
const bot = (name: string, dir: string, extra: Extra = {}, env: Record<string, string> = {}) => ({
  ...extra,
  name, script: dir, args: ['node', 'app.js'], env: { TICK_MS: '200', ...env },
  deployment: { type: 'LOCAL_PROCESS' as const, restart: 'unless-stopped', stop_timeout: 2, ...(extra.deployment ?? {}) },
});

/** The exits the bot's supervisor recorded, read from its run directory alone. */
function exitsOf(name: string): RunRecord[] {
  const row = engine.store.getBot(name)!;
  if (row.type === 'LOCAL_PROCESS') return readExits(engine.processes.dir(name));
  return readExits(engine.paths(engine.get(`bot-${name}`).id).dir);
}
const withReason = (name: string, reason: string) => exitsOf(name).filter((e) => e.reason === reason);

describe('bot promises kept by the supervisor alone', () => {
  it('restarts a leaking LOCAL_PROCESS bot past memory_restart (the tree RSS), after restart_delay, and records why', async () => {
    const dir = appDir();
    await ex.apply([bot('leak-local', dir, { deployment: { memory_restart: '40m', restart_delay: 1.5, backoff_max: 1.5 } }, { ALLOC_MB: '80' })]);
    const first = await until(() => withReason('leak-local', 'memory-restart')[0], 60_000, 100);
    // graceful: the stop signal reached the bot, which said goodbye
    expect(await logsOf('leak-local')).toMatch(/signal 1 SIGTERM[\s\S]*bye after 1 signal/);
    // the next run began restart_delay after the exit, not at once
    const next = await until(() => exitsOf('leak-local').find((e) => e.run === first.run + 1), 60_000, 100);
    expect(next.startedAt - first.finishedAt).toBeGreaterThanOrEqual(1400);
    // RESTARTS counts it
    expect((await ex.status('leak-local')).restarts).toBeGreaterThanOrEqual(1);
    await ex.remove('leak-local');
  });

  it('counts the RSS of the whole tree: a leaking grandchild restarts its bot', async () => {
    const dir = appDir();
    await ex.apply([{ ...bot('leak-tree', dir, { deployment: { memory_restart: '40m' } }, { ALLOC_MB: '80' }), args: ['sh', '-c', 'node app.js; :'] }]);
    await until(() => withReason('leak-tree', 'memory-restart')[0], 60_000, 100);
    await ex.remove('leak-tree');
  });

  it.skipIf(missing({ cgroup: ['memory'] }))('restarts a leaking container bot past memory_restart, read from its memory cgroup', async () => {
    const dir = appDir();
    await ex.apply([bot('leak-cg', dir, { deployment: { type: 'CUSTOM_CONTAINER', isolation: 'minimal', memory_restart: '40m' } }, { ALLOC_MB: '80' })]);
    await until(() => withReason('leak-cg', 'memory-restart')[0], 60_000, 100);
    await ex.remove('leak-cg');
  });

  it('does not restart a bot under its memory_restart', async () => {
    const dir = appDir();
    await ex.apply([bot('lean', dir, { deployment: { memory_restart: '400m' } })]);
    await sleep(3000);
    expect(exitsOf('lean')).toHaveLength(0);
    await ex.remove('lean');
  });

  it('restarts on cron_restart at the times the engine handed over', async () => {
    const dir = appDir();
    await ex.apply([bot('cron', dir, { deployment: { cron_restart: '*/2 * * * * *' } })]);
    const hits = await until(() => { const h = withReason('cron', 'cron-restart'); return h.length >= 2 ? h : undefined; }, 60_000, 100);
    // each at an even second (the stop begins on it; the exit follows within the stop)
    for (const h of hits) expect(h.finishedAt % 2000).toBeLessThan(1500);
    // a look at the bot re-arms its supervisor: the next times, written to the run directory
    await ex.status('cron');
    const more = readFileSync(join(engine.processes.dir('cron'), 'cron-times'), 'utf8').trim().split('\n').map(Number);
    expect(more.length).toBe(1024);
    expect(more.filter((t) => t > Date.now()).length).toBeGreaterThanOrEqual(512);
    expect(more.every((t, i) => i === 0 || t - more[i - 1] === 2000)).toBe(true);
    await ex.remove('cron');
    expect(cronTimes('0 3 * * *', Date.UTC(2026, 0, 1), 3).map((t) => new Date(t).getHours())).toEqual([3, 3, 3]);
  });

  it('asks the engine for more cron times by itself: past its first batch with nothing else running', async () => {
    const dir = appDir();
    process.env.CODEX32_CRON_BATCH = '5'; // five times handed over, more asked for when two are left
    try {
      await ex.apply([bot('cron-fill', dir, { deployment: { cron_restart: '*/1 * * * * *' } })]);
    } finally {
      delete process.env.CODEX32_CRON_BATCH;
    }
    const run = engine.processes.dir('cron-fill');
    const spec = readFileSync(join(run, RUN_FILES.spec), 'utf8').split('\0');
    expect(spec.filter((e) => e.startsWith('cron_at_ms='))).toHaveLength(5);
    // from here only files are read: the supervisor runs the refill itself, again and again
    const hits = await until(() => { const h = withReason('cron-fill', 'cron-restart'); return h.length >= 12 ? h : undefined; }, 120_000, 200);
    expect(hits.length).toBeGreaterThanOrEqual(12);
    const times = readFileSync(join(run, RUN_FILES.cronTimes), 'utf8').trim().split('\n').map(Number);
    expect(times).toHaveLength(5);
    expect(times.every((t, i) => i === 0 || t - times[i - 1] === 1000)).toBe(true);
    const events = existsSync(join(run, RUN_FILES.events)) ? readFileSync(join(run, RUN_FILES.events), 'utf8') : '';
    expect(events).not.toMatch(/refill-failed|refill-retry/);
    await ex.remove('cron-fill');
  });

  it('backs off from a cron refill that fails, and says why in the run directory', async () => {
    const dir = appDir();
    process.env.CODEX32_CRON_BATCH = '5';
    try {
      await ex.apply([bot('cron-fail', dir, { deployment: { cron_restart: '*/1 * * * * *' } })]);
    } finally {
      delete process.env.CODEX32_CRON_BATCH;
    }
    const run = engine.processes.dir('cron-fail');
    // a directory where the refill renames its file: every refill fails
    rmSync(join(run, RUN_FILES.cronTimes), { force: true });
    mkdirSync(join(run, RUN_FILES.cronTimes));
    const events = () => (existsSync(join(run, RUN_FILES.events)) ? readFileSync(join(run, RUN_FILES.events), 'utf8') : '');
    await until(() => /cron no-more-times/.test(events()), 60_000, 200);
    await sleep(4000);
    // one refill, its failure recorded with the command's own error; no second one while it backs off
    expect(events().match(/cron refill-failed:125/g)).toHaveLength(1);
    expect(events()).not.toMatch(/refill-retry/);
    expect(readFileSync(join(run, RUN_FILES.shimErr), 'utf8')).toMatch(/codex32: .*cron-times/);
    expect(withReason('cron-fail', 'cron-restart').length).toBeLessThanOrEqual(5);
    rmSync(join(run, RUN_FILES.cronTimes), { recursive: true });
    await ex.remove('cron-fail');
  });

  it('refuses a cron refill into no run directory, or of a bad pattern, and writes nothing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'c32-refill-'));
    expect(() => refillCronTimes(join(dir, 'gone'), '* * * * *')).toThrow(/No run directory/);
    expect(() => refillCronTimes(dir, 'every day')).toThrow(/Invalid cron pattern/);
    expect(existsSync(join(dir, RUN_FILES.cronTimes))).toBe(false);
    expect(refillCronTimes(dir, '0 3 * * *', 3)).toBe(3);
    expect(readFileSync(join(dir, RUN_FILES.cronTimes), 'utf8').trim().split('\n')).toHaveLength(3);
  });

  it('restarts on a change of a watched file, not of an ignored one', async () => {
    const dir = appDir();
    mkdirSync(join(dir, 'data'));
    await ex.apply([bot('watched', dir, { watch: true, watch_ignore: ['data/**', '**/*.{tmp,swp}'], watch_delay: 0.2 })]);
    await until(async () => (await ex.status('watched')).status === 'running');
    writeFileSync(join(dir, 'data', 'state.json'), '{}');
    writeFileSync(join(dir, 'notes.log'), 'x'); // *.log is always ignored
    writeFileSync(join(dir, 'edit.swp'), 'x'); // **/ also matches at the top, as in PM2
    mkdirSync(join(dir, 'data', 'deeper'));
    writeFileSync(join(dir, 'data', 'deeper', 'more.json'), '{}');
    await sleep(1500);
    expect(exitsOf('watched')).toHaveLength(0);
    writeFileSync(join(dir, 'version.txt'), 'v2\n');
    await until(() => withReason('watched', 'watch-restart')[0], 60_000, 100);
    // the new run runs the new code
    await until(async () => /version=v2/.test(await logsOf('watched')), 30_000, 100);
    // a new subdirectory is watched too
    mkdirSync(join(dir, 'lib'));
    await sleep(300);
    writeFileSync(join(dir, 'lib', 'util.js'), '// v3\n');
    await until(() => (withReason('watched', 'watch-restart').length >= 2 ? true : undefined), 60_000, 100);
    await ex.remove('watched');
  });

  it.skipIf(missing({ standard: true }))('watches the host files of a container bot at standard isolation, and copies its output', async () => {
    const dir = appDir();
    const out = join(dir, 'out', 'app.log');
    await ex.apply([bot('boxed', dir, { watch: true, watch_delay: 0.2, out_file: out, deployment: { type: 'CUSTOM_CONTAINER', isolation: 'standard' } })]);
    await until(() => existsSync(out) && /up pid=\d+ version=none/.test(readFileSync(out, 'utf8')), 60_000, 100);
    writeFileSync(join(dir, 'version.txt'), 'v2\n');
    await until(() => withReason('boxed', 'watch-restart')[0], 60_000, 100);
    // the container's files are copied afresh at the start: the new run has the new code
    await until(() => /version=v2/.test(readFileSync(out, 'utf8')), 60_000, 100);
    await ex.remove('boxed');
  });

  it('writes the out_file and error_file copies with log_date_format prefixes', async () => {
    const dir = appDir();
    const out = join(dir, 'logs', 'out.log');
    const err = join(dir, 'logs', 'err.log');
    await ex.apply([bot('copied', dir, { watch: true, out_file: out, error_file: err, log_date_format: '[at] YYYY-MM-DD HH:mm:ss.SSS Z' })]);
    await until(() => existsSync(err) && readFileSync(err, 'utf8').split('\n').length > 3, 60_000, 100);
    await until(() => existsSync(out) && /up pid=/.test(readFileSync(out, 'utf8')), 60_000, 100);
    const stamp = String.raw`at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} [+-]\d\d:\d\d: `;
    expect(readFileSync(out, 'utf8').split('\n')[0]).toMatch(new RegExp(`^${stamp}up pid=\\d+ `));
    for (const line of readFileSync(err, 'utf8').split('\n').slice(0, 3)) expect(line).toMatch(new RegExp(`^${stamp}tick \\d+$`));
    // the copies lie in the watched directory, yet writing them restarts nothing
    expect(exitsOf('copied')).toHaveLength(0);
    await ex.remove('copied');
  });

  it('turns PM2 ignore globs into fnmatch globs', () => {
    expect(fnmatchGlobs('**/*.{log,tmp}')).toEqual(['**/*.log', '*.log', '**/*.tmp', '*.tmp']);
    expect(fnmatchGlobs('data/**')).toEqual(['data/**']);
  });

  it('turns PM2 date formats into the supervisor’s strftime form', () => {
    expect(dayjsToStrftime('YYYY-MM-DD HH:mm:ss.SSS Z')).toBe('%Y-%m-%d %H:%M:%S.%L %:z');
    expect(dayjsToStrftime('[100%] D/M/YY H:m:s ZZ')).toBe('100%% %-d/%-m/%y %-H:%-M:%-S %z');
  });
});
