// The bot manager `serve` runs: reconcile on a timer, with real processes. (Memory, cron and watch
// restarts and the log copies are the supervisor's own: bots-unattended.test.ts.)
import { mkdtempSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ContainerEngine } from '../src/engine/engine.js';
import { AdaptiveExecutor } from '../src/executor/adaptive.js';
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
describe('bot manager', () => {
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
