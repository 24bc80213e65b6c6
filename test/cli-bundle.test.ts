// The CLI as users run it: the bundled launcher, first without and then with its V8 code cache.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, sandbox } from './helpers.js';

const sb = sandbox('c32-bundle-');
const dir = mkdtempSync(join(tmpdir(), 'c32-bundle-bots-'));
afterAll(async () => {
  await sb.cli(['bot', 'rm', 'all']);
  await sb.clean();
  rmSync(dir, { recursive: true, force: true });
});

describe('bundled CLI', () => {
  it('loads an optional package on demand, from the code cache too (bot manifest)', async () => {
    const file = join(dir, 'bots.json');
    writeFileSync(file, JSON.stringify({ bots: [{ name: 'mf', script: join(ROOT, 'bots', 'heartbeat.py'), deployment: { type: 'LOCAL_PROCESS' } }] }));
    expect((await sb.cli(['bot', 'apply', file])).exitCode).toBe(0);
    // two runs: whichever wrote the cache, the other ran from it
    for (let i = 0; i < 2; i++) {
      const r = await sb.cli(['bot', 'manifest', 'mf']);
      expect(r.stderr).toBe('');
      expect(r.exitCode).toBe(0);
      expect(String(r.stdout)).toMatch(/^kind: ConfigMap$/m);
    }
  });
});
