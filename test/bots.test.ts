// One behavioural suite for LOCAL_PROCESS and CUSTOM_CONTAINER bots, and the Kubernetes manifests.
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AdaptiveExecutor } from '../src/executor/adaptive.js';
import { ROOT, botSandbox, sleep, until } from './helpers.js';

const { storage, engine, ex, logsOf } = botSandbox('c32-bots-');

describe.each(['LOCAL_PROCESS', 'CUSTOM_CONTAINER'] as const)('%s bots', (type) => {
  const n = (s: string) => `${s}-${type === 'LOCAL_PROCESS' ? 'local' : 'ctr'}`;

  it('run, status, logs, stats, stop and restart', async () => {
    const name = n('hb');
    const r = await ex.apply([{ name, script: join(ROOT, 'bots', 'heartbeat.py'), env: { INTERVAL: '0.2' }, deployment: { type } }]);
    expect(r).toMatchObject({ applied: [name], started: [name], failed: [] });
    const s1 = await ex.status(name);
    expect(s1).toMatchObject({ name, type, status: 'running' });
    expect(s1.pid).toBeGreaterThan(0);
    await until(async () => (await logsOf(name)).includes('beat 2'));
    const st = await ex.stats(name);
    expect(st?.pids).toBeGreaterThanOrEqual(1);
    expect(st?.rss).toBeGreaterThan(1024 * 1024);
    const stopped = await ex.stopBot(name);
    expect(stopped.status).toBe('exited');
    expect(await logsOf(name)).toContain('got signal 15');
    const again = await ex.runBot(name);
    expect(again.status).toBe('running');
    const restarted = await ex.restartBot(name);
    expect(restarted.status).toBe('running');
    expect(restarted.pid).not.toBe(again.pid);
    await ex.remove(name);
    expect(ex.list().map((b) => b.name)).not.toContain(name);
  });

  it('applies the restart policy: on-failure:2 restarts twice, then gives up: errored, as PM2 says', async () => {
    const name = n('crash');
    await ex.apply([{ name, script: join(ROOT, 'bots', 'crasher.py'), env: { LIFETIME: '0.1', EXIT_CODE: '3' }, deployment: { type, restart: 'on-failure:2' } }]);
    await until(async () => (await ex.status(name)).status === 'errored', 15_000, 100);
    const s = await ex.status(name);
    expect(s.restarts).toBe(2);
    expect(s.exitCode).toBe(3);
    expect((await logsOf(name)).match(/crasher up/g)).toHaveLength(3);
  });

  it('runs the code on disk: edit it, restart, and the new code runs', async () => {
    const name = n('edit');
    const dir = mkdtempSync(join(storage, 'code-'));
    cpSync(join(ROOT, 'test', 'fixtures', 'pm2', 'app.js'), join(dir, 'app.js'));
    writeFileSync(join(dir, 'package.json'), '{"type":"commonjs"}');
    writeFileSync(join(dir, 'version.txt'), 'v1\n');
    await ex.apply([{ name, script: dir, args: ['node', 'app.js'], deployment: { type } }]);
    await until(async () => (await logsOf(name)).includes('version=v1'));
    writeFileSync(join(dir, 'version.txt'), 'v2\n');
    await ex.restartBot(name);
    await until(async () => (await logsOf(name)).includes('version=v2'));
    writeFileSync(join(dir, 'version.txt'), 'v3\n');
    await ex.stopBot(name);
    await ex.runBot(name);
    await until(async () => (await logsOf(name)).includes('version=v3'));
    // a container bot's name works wherever its container's does
    if (type === 'CUSTOM_CONTAINER') expect((await engine.inspect(name)).Name).toBe(`bot-${name}`);
    await ex.remove(name);
  });

  it('a serve restart keeps a stopped bot stopped and an exhausted on-failure bot down', async () => {
    const kept = n('kept');
    const spent = n('spent');
    await ex.apply([
      { name: kept, script: join(ROOT, 'bots', 'heartbeat.py'), deployment: { type, restart: 'always' } },
      { name: spent, script: join(ROOT, 'bots', 'crasher.py'), env: { LIFETIME: '0.05' }, deployment: { type, restart: 'on-failure:1' } },
    ]);
    await ex.stopBot(kept);
    await until(async () => (await ex.status(spent)).status === 'errored', 15_000, 100);
    // what serve does when it starts: the engine's start --all, then the bots' restore
    const again = new AdaptiveExecutor(engine);
    await engine.startAll();
    expect(await again.restore({ initial: true })).toEqual([]);
    expect((await again.status(kept)).status).toBe('exited');
    expect(await again.status(spent)).toMatchObject({ status: 'errored', restarts: 1 });
    await ex.remove(kept);
    await ex.remove(spent);
  });

  it('never hands the bot codex32\'s own settings, such as the service token', async () => {
    const name = n('env');
    process.env.CODEX32_TOKEN = 'secret-token';
    try {
      await ex.apply([{ name, script: join(ROOT, 'bots', 'crasher.py'), args: ['sh', '-c', 'env'], deployment: { type } }]);
      await until(async () => (await ex.status(name)).status === 'exited', 10_000, 100);
      const out = await logsOf(name);
      expect(out).toContain('PATH=');
      expect(out).toContain('PYTHONUNBUFFERED=1'); // a Python bot's output is seen as written, whatever its shebang
      expect(out).not.toContain('secret-token');
    } finally {
      delete process.env.CODEX32_TOKEN;
      await ex.remove(name);
    }
  });

  it('gives a port through PORT and shows its URL', async () => {
    const name = n('web');
    await ex.apply([{ name, script: join(ROOT, 'bots', 'echo-bot'), deployment: { type, port: 'auto' } }]);
    const s = await ex.status(name);
    expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const body = await until(async () => fetch(`${s.url}/ping`).then((r) => r.json()).catch(() => undefined), 10_000, 100);
    expect(body).toMatchObject({ bot: 'echo', path: '/ping' });
    await ex.remove(name);
  });
});

describe('bot definitions', () => {
  it('refuses a bad file whole: the field is named and nothing is stored', async () => {
    const dir = mkdtempSync(join(storage, 'botfile-'));
    const file = join(dir, 'bots.yaml');
    writeFileSync(file, `bots:\n  - name: fine\n    script: ${ROOT}/bots/heartbeat.py\n  - name: broken\n    script: ${ROOT}/bots/heartbeat.py\n    deployment:\n      restart: sometimes\n`);
    await expect(ex.applyFile(file)).rejects.toThrow(/bot broken: deployment\.restart/);
    expect(ex.list().map((b) => b.name)).not.toContain('fine');
    writeFileSync(file, `bots:\n  - name: dup\n    script: x\n  - name: dup\n    script: y\n`);
    await expect(ex.applyFile(file)).rejects.toThrow(/appears twice/);
  });

  it('KUBERNETES_POD: manifests validated against the Kubernetes schema, and a clear error without a kubeconfig', async () => {
    await ex.apply([
      { name: 'k8s-always', script: join(ROOT, 'bots', 'heartbeat.py'), env: { INTERVAL: '5' }, deployment: { type: 'KUBERNETES_POD', restart: 'always', limits: { memory: '64m', cpus: 0.5 }, health: { cmd: 'true', interval: 10 } } },
      { name: 'k8s-once', script: join(ROOT, 'bots', 'echo-bot'), deployment: { type: 'KUBERNETES_POD', restart: 'on-failure:3', port: 8080, isolation: 'strict' } },
    ], { start: false });
    const [cm, dep] = await ex.manifest('k8s-always');
    expect(cm.kind).toBe('ConfigMap');
    expect(Object.keys(cm.data as object)).toEqual(['heartbeat.py']);
    expect(dep.kind).toBe('Deployment');
    const ctr = (dep as any).spec.template.spec.containers[0];
    expect(ctr).toMatchObject({ image: 'python:3.12-slim', command: ['python3', '-u', '/app/heartbeat.py'], resources: { limits: { memory: '64Mi', cpu: '500m' } } });
    expect(ctr.env).toEqual([{ name: 'INTERVAL', value: '5' }]);
    expect(ctr.livenessProbe.exec.command).toEqual(['sh', '-c', 'true']);
    const [, pod] = await ex.manifest('k8s-once');
    expect(pod.kind).toBe('Pod');
    expect((pod as any).spec.restartPolicy).toBe('OnFailure');
    expect((pod as any).spec.containers[0].securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true });
    const saved = process.env.KUBECONFIG;
    process.env.KUBECONFIG = join(storage, 'no-such-kubeconfig');
    try {
      await expect(ex.runBot('k8s-once')).rejects.toThrow(/No kubeconfig found .*Set KUBECONFIG/);
      expect((await ex.status('k8s-once')).status).toBe('not-deployed');
    } finally {
      if (saved === undefined) delete process.env.KUBECONFIG;
      else process.env.KUBECONFIG = saved;
    }
  });
});

await sleep(0);
