// Every way a bot is stopped (stop, restart, re-apply of a changed definition, rm) gives its main process
// the stop signal exactly once and its grace period, at every isolation level and as LOCAL_PROCESS.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ContainerEngine } from '../src/engine/engine.js';
import { AdaptiveExecutor } from '../src/executor/adaptive.js';
import { volumeDir } from '../src/executor/container.js';
import { missing, ROOT, until } from './helpers.js';

const SHUTDOWN_MS = 3000;
const storage = mkdtempSync(join(tmpdir(), 'c32-graceful-'));
const engine = new ContainerEngine({ storageDir: storage, isolation: 'minimal' });
const ex = new AdaptiveExecutor(engine);
const code = mkdtempSync(join(tmpdir(), 'c32-graceful-app-'));
cpSync(join(ROOT, 'test', 'fixtures', 'pm2', 'app.js'), join(code, 'app.js'));
writeFileSync(join(code, 'package.json'), '{"type":"commonjs"}');
afterAll(async () => {
  for (const b of ex.list()) await ex.remove(b.name, { volumes: true }).catch(() => undefined);
  engine.close();
  for (const d of [storage, code]) rmSync(d, { recursive: true, force: true });
});

const kinds = [
  { kind: 'LOCAL_PROCESS', deployment: { type: 'LOCAL_PROCESS' as const } },
  { kind: 'minimal', deployment: { type: 'CUSTOM_CONTAINER' as const, isolation: 'minimal' as const } },
  { kind: 'standard', deployment: { type: 'CUSTOM_CONTAINER' as const, isolation: 'standard' as const }, skip: missing({ standard: true }) },
  { kind: 'strict', deployment: { type: 'CUSTOM_CONTAINER' as const, isolation: 'strict' as const }, skip: missing({ strict: true }) },
];

describe.concurrent.each(kinds)('$kind', ({ kind, deployment, skip }) => {
  it.skipIf(!!skip)(`one signal and ${SHUTDOWN_MS / 1000} s to shut down on stop, restart, re-apply and rm${skip ? ` (skipped: ${skip})` : ''}`, async () => {
    const name = `grace-${kind.replace('_', '-').toLowerCase()}`;
    const isolated = kind === 'standard' || kind === 'strict';
    // the signal log must outlive the bot's container: a data volume inside one, a host file outside
    const hostLog = isolated ? join(volumeDir(storage, name, 'data'), 'signals.log') : join(mkdtempSync(join(storage, 'sig-')), 'signals.log');
    const def = (gen: string) => ({
      name, script: code, args: ['node', 'app.js'],
      env: { SHUTDOWN_MS: String(SHUTDOWN_MS), SIGNAL_LOG: isolated ? '/data/signals.log' : hostLog, GEN: gen },
      deployment: { ...deployment, restart: 'always', stop_timeout: 10, ...(isolated ? { volumes: ['data:/data'] } : {}) },
    });
    // running, and far enough to have said so: its signal handlers are in place
    let ups = 0;
    const pidOf = () => until(async () => {
      let n = 0;
      for await (const r of ex.logs(name)) if (r.data.toString().startsWith('up pid=')) n++;
      const s = await ex.status(name);
      if (n <= ups || s.status !== 'running') return undefined;
      ups = n;
      return s.status;
    }, 20_000, 100);
    const lines = () => (existsSync(hostLog) ? readFileSync(hostLog, 'utf8').split('\n').filter(Boolean) : []);
    /** run op; the bot's main process then has had exactly one signal and its whole shutdown time */
    const graceful = async (what: string, op: () => Promise<unknown>) => {
      const before = lines().length;
      const t0 = Date.now();
      await op();
      const took = Date.now() - t0;
      const mine = lines().slice(before);
      expect(mine.filter((l) => / signal \d /.test(l)), what).toHaveLength(1);
      expect(mine.some((l) => / bye after 1 signal\(s\)$/.test(l)), what).toBe(true);
      expect(took, what).toBeGreaterThanOrEqual(SHUTDOWN_MS - 100);
    };
    if (!isolated) mkdirSync(join(hostLog, '..'), { recursive: true });
    await ex.apply([def('1')]);
    await pidOf();
    await graceful('stop', () => ex.stopBot(name));
    await ex.runBot(name);
    await pidOf();
    await graceful('restart', () => ex.restartBot(name));
    await pidOf();
    await graceful('re-apply', () => ex.apply([def('2')]));
    if (!(kind === 'LOCAL_PROCESS')) ups = 0; // a new container: a new log
    await pidOf();
    await graceful('rm', () => ex.remove(name));
    if (isolated) expect(existsSync(hostLog)).toBe(true); // the data volume outlives its bot
  });
});
