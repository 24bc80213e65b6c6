// The bot manager `serve` runs: reconcile on a timer, and PM2's restart strategies (memory, cron, watch)
// and log copies, with real processes.
import { mkdtempSync, readFileSync, writeFileSync, cpSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ContainerEngine } from '../src/engine/engine.js';
import { AdaptiveExecutor } from '../src/executor/adaptive.js';
import { formatDate } from '../src/executor/logcopy.js';
import { BotManager } from '../src/executor/manager.js';
import { ROOT, until } from './helpers.js';

const storage = mkdtempSync(join(tmpdir(), 'c32-mgr-'));
const engine = new ContainerEngine({ storageDir: storage, isolation: 'minimal' });
const ex = new AdaptiveExecutor(engine);
const manager = new BotManager(ex, 300);
const work = mkdtempSync(join(tmpdir(), 'c32-mgr-app-'));
cpSync(join(ROOT, 'test', 'fixtures', 'pm2', 'app.js'), join(work, 'app.js'));
writeFileSync(join(work, 'package.json'), '{"type":"commonjs"}');
manager.start();
afterAll(async () => {
  manager.stop();
  for (const b of ex.list()) await ex.remove(b.name).catch(() => undefined);
  engine.close();
});

const app = (name: string, extra: Record<string, unknown> = {}, env: Record<string, string> = {}) => ({
  name, script: work, args: ['node', 'app.js'], env: { TICK_MS: '100', ...env },
  deployment: { type: 'CUSTOM_CONTAINER' as const, restart: 'unless-stopped', ...((extra.deployment as object) ?? {}) },
  ...Object.fromEntries(Object.entries(extra).filter(([k]) => k !== 'deployment')),
});
/** remove with the manager paused: a removal racing the manager's own restart is the engine's concern, not this test's */
const removeQuietly = async (name: string) => {
  manager.stop();
  await until(async () => (await ex.status(name)).status === 'running');
  await ex.remove(name);
  manager.start();
};
const restartsOf = (name: string) => engine.events({}).filter((e) => e.type === 'restart' && e.attrs.bot === name);

describe('bot manager', () => {
  it('restarts a bot gracefully when its memory passes memory_restart', async () => {
    await ex.apply([app('fat', { deployment: { memory_restart: '40m' } }, { ALLOC_MB: '80' })]);
    const ev = await until(() => restartsOf('fat')[0], 60_000, 100);
    expect(ev.attrs).toMatchObject({ reason: 'memory_restart', threshold: 40 * 1024 * 1024 });
    expect(ev.attrs.memory as number).toBeGreaterThan(40 * 1024 * 1024);
    await removeQuietly('fat');
  });

  it('restarts on a cron pattern', async () => {
    await ex.apply([app('cron', { deployment: { cron_restart: '* * * * * *' } })]);
    const ev = await until(() => restartsOf('cron')[0], 60_000, 100);
    expect(ev.attrs).toMatchObject({ reason: 'cron_restart', pattern: '* * * * * *' });
    await removeQuietly('cron');
  });

  it('restarts on a change of the code, not of an ignored file; a stopped bot stays stopped', async () => {
    await ex.apply([app('watched', { watch: true, watch_ignore: ['data/**'], watch_delay: 0.1 })]);
    await until(async () => (await ex.status('watched')).status === 'running');
    await new Promise((r) => setTimeout(r, 500)); // the watcher is set up on the next pass
    writeFileSync(join(work, 'ignored.log'), 'x');
    await new Promise((r) => setTimeout(r, 800));
    expect(restartsOf('watched')).toHaveLength(0);
    writeFileSync(join(work, 'version.txt'), 'v2\n');
    const ev = await until(() => restartsOf('watched')[0], 60_000, 100);
    expect(ev.attrs).toMatchObject({ reason: 'watch', file: 'version.txt' });
    await ex.stopBot('watched'); // even while the restart may still be under way
    writeFileSync(join(work, 'version.txt'), 'v3\n');
    await new Promise((r) => setTimeout(r, 1000));
    expect((await ex.status('watched')).status).toBe('exited');
    await ex.remove('watched');
  });

  it('copies output to out_file and error_file with log_date_format', async () => {
    const out = join(work, 'logs', 'out.log');
    const err = join(work, 'logs', 'err.log');
    await ex.apply([app('copied', { out_file: out, error_file: err, log_date_format: '[at] YYYY-MM-DD HH:mm:ss' })]);
    await until(() => existsSync(err) && /tick/.test(readFileSync(err, 'utf8')), 60_000, 100);
    await until(() => existsSync(out) && /up pid=/.test(readFileSync(out, 'utf8')), 60_000, 100);
    expect(readFileSync(err, 'utf8').split('\n')[0]).toMatch(/^at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d: tick \d+$/);
    await ex.remove('copied');
    expect(formatDate('YYYY-MM-DDTHH:mm:ss.SSS', new Date(2026, 0, 2, 3, 4, 5, 6))).toBe('2026-01-02T03:04:05.006');
  });

  it('brings back a bot whose supervisor was killed, without any command', async () => {
    await ex.apply([app('lost')]);
    const { id, state: before } = engine.get('bot-lost');
    process.kill(before.shim!.pid, 'SIGKILL');
    // read the store without reconciling: only the manager's timer can have repaired it
    const after = await until(() => {
      const row = engine.store.getContainer(id);
      return row?.status === 'running' && row.state.shim?.pid !== before.shim!.pid ? row : undefined;
    }, 60_000, 100);
    expect(after?.state.init?.pid).toBeGreaterThan(0);
    await ex.remove('lost');
  });

  it('brings back a LOCAL_PROCESS bot whose supervisor was killed', async () => {
    await ex.apply([{ ...app('lost-local'), deployment: { type: 'LOCAL_PROCESS', restart: 'always' } }]);
    const shim = (engine.store.getBot('lost-local')!.state as { shim: { pid: number } }).shim;
    const bot = await ex.status('lost-local');
    process.kill(shim.pid, 'SIGKILL');
    process.kill(bot.pid!, 'SIGKILL'); // the supervisor's death takes nothing else down: what would reboot do
    const after = await until(() => {
      const st = engine.store.getBot('lost-local')!.state as { shim: { pid: number } };
      return st.shim.pid !== shim.pid ? st : undefined;
    }, 60_000, 100);
    expect(after?.shim.pid).toBeGreaterThan(0);
    await until(async () => (await ex.status('lost-local')).status === 'running');
    await ex.remove('lost-local');
  });
});
