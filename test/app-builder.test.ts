// The app builder's ContainerRuntime (examples/app-builder) on the library as an app imports it: serve a
// generated app through a published port, change it with uploadFiles and see the change at the URL.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ContainerEngine } from 'codex32';
import { CodexRuntime } from '../examples/app-builder/runtime.js';
import { privateNetworkMissing } from '../src/engine/network.js';
import { missing, until } from './helpers.js';

const skip = missing({ standard: true, cgroup: ['memory', 'pids', 'cpu'] }) ?? (process.env.CI === 'true' ? undefined : privateNetworkMissing()[0]);
const storage = mkdtempSync(join(tmpdir(), 'c32-appb-'));
const engine = new ContainerEngine({ storageDir: storage });
afterAll(async () => {
  for (const c of await engine.list({ all: true })) await engine.remove(c.id, { force: true });
  engine.close();
  rmSync(storage, { recursive: true, force: true });
});

describe.skipIf(!!skip)('the app builder example', () => {
  it('serves an app, changes it through uploadFiles, runs commands and downloads files', async () => {
    const rt = new CodexRuntime(engine);
    const id = await rt.createContainer('u1', { image: 'host', command: ['sh', '-c', 'mkdir -p /srv && exec busybox httpd -f -p 3001 -h /srv'], port: 3001 });
    await rt.uploadFiles(id, [{ path: '/srv/index.html', content: '<h1>v1</h1>\n' }]);
    const url = await rt.getContainerUrl(id, 3001);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const get = async () => (await fetch(`${url}/index.html`).catch(() => undefined))?.text();
    expect(await until(get, 20_000)).toBe('<h1>v1</h1>\n');
    await rt.uploadFiles(id, [{ path: '/srv/index.html', content: '<h1>v2</h1>\n' }, { path: '/srv/app/run.sh', content: 'echo run\n', mode: 0o755 }]);
    expect(await get()).toBe('<h1>v2</h1>\n');

    const r = await rt.executeCommand(id, ['sh', '-c', 'printf "a\\n\\n\\n"; echo $GREETING >&2; pwd; exit 3'], { env: { GREETING: 'hi' }, cwd: '/srv/app' });
    expect(r).toEqual({ exitCode: 3, stdout: 'a\n\n\n/srv/app\n', stderr: 'hi\n', timedOut: false });
    const slow = await rt.executeCommand(id, ['sleep', '30'], { timeoutMs: 300 });
    expect(slow.timedOut).toBe(true);
    expect((await rt.executeCommand(id, ['id', '-u'], { user: '1000' })).stdout).toBe('1000\n');

    const files = await rt.downloadFiles(id, ['/srv/index.html', '/srv/app/run.sh']);
    expect(files.get('/srv/index.html')?.toString()).toBe('<h1>v2</h1>\n');
    expect(files.get('/srv/app/run.sh')?.toString()).toBe('echo run\n');
    await expect(rt.downloadFiles(id, ['/srv/missing'])).rejects.toMatchObject({ code: 'NO_SUCH_PATH' });

    await rt.stopContainer(id);
    expect(await engine.list({ all: true })).toEqual([]);
    expect(await fetch(`${url}/index.html`).then(() => 'answered', () => 'refused')).toBe('refused');
  }, 120_000);
});
