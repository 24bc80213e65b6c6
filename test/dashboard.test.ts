// The dashboard in a real browser: Debian's chromium driven by playwright-core.
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContainerEngine } from '../src/engine/engine.js';
import { AdaptiveExecutor } from '../src/executor/adaptive.js';
import { buildService } from '../src/service/server.js';
import { ROOT } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
// installed by scripts/test-setup.sh; in CI its absence is a failure, not a skip
const skip = !existsSync(CHROMIUM) && process.env.CI !== 'true';

describe.skipIf(skip)(`dashboard${skip ? ' (skipped: no /usr/bin/chromium; run scripts/test-setup.sh)' : ''}`, () => {
  let app: FastifyInstance;
  let base: string;
  let token: string;
  const engine = new ContainerEngine({ storageDir: mkdtempSync(join(tmpdir(), 'c32-dash-')), isolation: 'minimal' });

  beforeAll(async () => {
    ({ app, token } = await buildService({ engine }));
    base = await app.listen({ host: '127.0.0.1', port: 0 });
    await new AdaptiveExecutor(engine).apply([{ name: 'heartbeat', script: join(ROOT, 'bots', 'heartbeat.py'), env: { INTERVAL: '0.5' } }]);
  });
  afterAll(async () => {
    for (const r of await engine.list({ all: true })) await engine.remove(r.id, { force: true });
    await app.close();
    engine.close();
  });

  it('shows a sample bot running, stops it with its button, and shows it stopped', async () => {
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      await page.goto(`${base}/#token=${token}`);
      const status = page.locator('tr[data-bot="heartbeat"] td[data-status]');
      await status.filter({ hasText: 'running' }).waitFor({ timeout: 60_000 });
      await page.locator('tr[data-bot="heartbeat"] button[data-action="logs"], tr[data-bot="heartbeat"] button:has-text("Logs")').first().click();
      await page.locator('#log').filter({ hasText: 'beat' }).waitFor({ timeout: 60_000 });
      await page.locator('#events li').first().waitFor({ timeout: 10_000 }).catch(() => undefined);
      mkdirSync(join(ROOT, 'test-artifacts'), { recursive: true });
      await page.screenshot({ path: join(ROOT, 'test-artifacts', 'dashboard-running.png'), fullPage: true });
      await page.locator('tr[data-bot="heartbeat"] button[data-action="stop"]').click();
      await status.filter({ hasText: 'exited' }).waitFor({ timeout: 60_000 });
      expect(await status.textContent()).toBe('exited');
      await page.screenshot({ path: join(ROOT, 'test-artifacts', 'dashboard-stopped.png'), fullPage: true });
    } finally {
      await browser.close();
    }
    expect((await engine.list({ all: true })).find((c) => c.name === 'bot-heartbeat')?.status).toBe('exited');
  });

  it('fits a phone (390 px): host totals, alerts for a bot that gave up, a crash loop and a memory restart', async () => {
    const ex = new AdaptiveExecutor(engine);
    const crasher = join(ROOT, 'bots', 'crasher.py');
    await ex.apply([
      { name: 'gave-up', script: crasher, env: { LIFETIME: '0.05', EXIT_CODE: '3' }, deployment: { type: 'LOCAL_PROCESS', restart: 'on-failure:1' } },
      { name: 'looper', script: crasher, env: { LIFETIME: '0.2' }, deployment: { type: 'LOCAL_PROCESS', restart: 'always', restart_delay: 0.1, backoff_max: 0.2 } },
    ]);
    await ex.autoRestart('heartbeat', 'memory_restart'); // counted as the manager counts it; the user's stop still holds
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
    try {
      const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
      await page.goto(`${base}/#token=${token}`);
      await page.locator('[data-alert="gave-up"]', { hasText: 'gave-up gave up after 1 restarts (exit 3)' }).waitFor({ timeout: 60_000 });
      await page.locator('[data-alert="crash-loop"]', { hasText: 'looper is crash-looping' }).waitFor({ timeout: 60_000 });
      await page.locator('[data-alert="memory"]', { hasText: 'heartbeat was restarted 1× for passing its memory_restart' }).waitFor({ timeout: 60_000 });
      await page.locator('[data-host="cpu"]', { hasText: /^CPU \d+% of \d+/ }).waitFor({ timeout: 10_000 });
      expect(await page.locator('[data-host="mem"]').textContent()).toMatch(/^Memory \d+\.\d MiB \/ \d+\.\d MiB/);
      // nothing wider than the phone: each bot is a card whose cells name their column
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      const card = page.locator('tr[data-bot="gave-up"]');
      expect(await card.evaluate((tr) => tr.getBoundingClientRect().width)).toBeLessThanOrEqual(390);
      expect(await card.locator('td[data-status]').getAttribute('data-label')).toBe('Status');
      expect(await card.locator('td[data-status]').textContent()).toBe('errored');
      mkdirSync(join(ROOT, 'test-artifacts'), { recursive: true });
      const shot = await page.screenshot({ path: join(ROOT, 'test-artifacts', 'dashboard-phone.png'), fullPage: true });
      // the PNG's header: 390 px wide, as the page was laid out
      expect(shot.readUInt32BE(16)).toBe(390);
    } finally {
      await browser.close();
      for (const b of ['gave-up', 'looper']) await ex.remove(b);
    }
  });
});
