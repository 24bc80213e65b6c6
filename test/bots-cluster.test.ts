// Cluster mode and exact scaling: one port balanced over instances by nftables, a reload that fails no
// request, and `instances` changes that start or stop exactly the difference.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort, portTaken } from '../src/runtime/ports.js';
import { ROOT, botSandbox, missing, sleep, until } from './helpers.js';

const APP = join(ROOT, 'test', 'fixtures', 'pm2', 'http.js');
const { storage, engine, ex } = botSandbox('c32-cluster-', 'standard');
const noNft = (() => {
  try {
    execFileSync('nft', ['--version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'nft is not installed';
  }
})();
const skip = missing({ standard: true }) ?? noNft;

/** One request on a fresh connection; resolves to the answering process's id. */
function ask(port: number): Promise<string> {
  return new Promise((res, rej) => {
    const req = get({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 10_000 }, (r) => {
      let body = '';
      r.on('data', (d) => (body += d));
      r.on('end', () => (r.statusCode === 200 ? res(body.trim()) : rej(new Error(`status ${r.statusCode}`))));
      r.on('error', rej);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', rej);
  });
}

/** Apply a PM2 file of one app (start: false stores it only). */
async function apply(app: Record<string, unknown>, start = true) {
  const file = join(storage, `eco-${String(app.name)}.json`);
  writeFileSync(file, JSON.stringify({ apps: [app] }));
  const r = await ex.applyFile(file, { start });
  expect(r.failed).toEqual([]);
  return r;
}

const pids = async (names: string[]) => Promise.all(names.map(async (n) => (await ex.status(n)).pid));
const running = async (names: string[]) => (await Promise.all(names.map((n) => ex.status(n)))).every((s) => s.status === 'running');

/** Ids answering `count` requests. */
async function answers(port: number, count: number): Promise<Set<string>> {
  const out = new Set<string>();
  for (let i = 0; i < count; i++) out.add(await ask(port));
  return out;
}

describe.skipIf(skip)('cluster mode: one port, many instances', () => {
  it('balances 127.0.0.1:PORT over the instances, reloads with no failed request, and scales by the difference', async () => {
    const port = await freePort();
    const app = { name: 'web', script: APP, exec_mode: 'cluster', instances: 2, port, kill_timeout: 5000 };
    await apply(app);
    const names = ['web-0', 'web-1'];
    await until(() => running(names));
    // both instances answer on the one port (each becomes ready in its own time)
    const before = await until(async () => {
      const ids = await answers(port, 20).catch(() => new Set<string>());
      return ids.size === 2 ? ids : undefined;
    });

    // a reload during a stream of requests: each new instance is ready before the old one leaves and stops
    let stop = false;
    const results = { ok: 0, failed: 0, errors: [] as string[] };
    const ids = new Set<string>();
    const stream = async () => {
      while (!stop) {
        try {
          ids.add(await ask(port));
          results.ok++;
        } catch (e) {
          results.failed++;
          results.errors.push((e as Error).message);
        }
      }
    };
    const streams = [stream(), stream()];
    for (const n of ex.resolve(['web'])) await ex.reload(n);
    stop = true;
    await Promise.all(streams);
    expect(results.errors).toEqual([]);
    expect(results.failed).toBe(0);
    expect(results.ok).toBeGreaterThan(20);
    const after = await answers(port, 20);
    expect(after.size).toBe(2);
    for (const id of after) expect(before.has(id)).toBe(false); // new processes serve now
    expect(ex.list().map((b) => b.name).sort()).toEqual(names);

    // 2 -> 1: web-1 leaves the balancer and stops, web-0 keeps serving untouched
    const [pid0] = await pids(['web-0']);
    await apply({ ...app, instances: 1 });
    expect(ex.list().map((b) => b.name)).toEqual(['web-0']);
    expect(await pids(['web-0'])).toEqual([pid0]);
    expect((await answers(port, 10)).size).toBe(1);
    // 1 -> 2: exactly one new instance, and the port is balanced over both again
    await apply(app);
    expect(ex.list().map((b) => b.name).sort()).toEqual(names);
    expect(await pids(['web-0'])).toEqual([pid0]);
    await until(async () => ((await answers(port, 20).catch(() => new Set())).size === 2 ? true : undefined));
    expect((await ex.status('web-1')).url).toBe(`http://127.0.0.1:${port}`);

    // a stopped instance leaves the balancer before its stop signal; a reconcile pass does not bring it back
    await ex.stopBot('web-1');
    await ex.restore();
    expect((await answers(port, 10)).size).toBe(1);
    await ex.runBot('web-1');
    await until(async () => ((await answers(port, 20).catch(() => new Set())).size === 2 ? true : undefined));

    // the group goes: nothing answers on the port any more
    for (const n of ex.resolve(['web'])) await ex.remove(n);
    await expect(ask(port)).rejects.toThrow();
  }, 240_000);

  it('one instance reloads with no failure while reconcile passes run, and a new one that never listens leaves the old one serving', async () => {
    const port = await freePort();
    const app = { name: 'solo', script: APP, exec_mode: 'cluster', instances: 1, port, kill_timeout: 5000, listen_timeout: 20_000, env: { LISTEN_DELAY_MS: '1500' } };
    await apply(app);
    const first = await until(() => ask(port).catch(() => undefined));
    // serve's passes rebalance meanwhile: they keep the old container in and the slow new one out until it listens
    let stop = false;
    const passes = (async () => {
      while (!stop) {
        await ex.restore();
        await sleep(100); // a pass can finish without I/O: give the rest of the process its turn
      }
    })();
    const results = { ok: 0, errors: [] as string[] };
    const stream = (async () => {
      while (!stop) await ask(port).then(() => results.ok++, (e: Error) => results.errors.push(e.message));
    })();
    await ex.reload('solo-0');
    stop = true;
    await Promise.all([passes, stream]);
    expect(results.errors).toEqual([]);
    expect(results.ok).toBeGreaterThan(10);
    const second = await ask(port);
    expect(second).not.toBe(first);

    // the new instance never listens within listen_timeout: the reload fails and the old one keeps serving
    await apply({ ...app, listen_timeout: 1000, env: { LISTEN_DELAY_MS: '600000' } }, false);
    await expect(ex.reload('solo-0')).rejects.toThrow(/did not accept connections on port \d+ within 1 s/);
    expect(await ask(port)).toBe(second);
    expect(engine.store.listContainers().map((c) => c.name).filter((n) => n.includes('solo'))).toEqual(['bot-solo-0']);
    await ex.remove('solo-0');
  }, 180_000);

  it('gives the port back when a group leaves cluster mode: fork-mode processes then answer on it', async () => {
    let port = await freePort();
    while (await portTaken('127.0.0.1', port + 1, 'tcp')) port = await freePort();
    const app = { name: 'mode', script: APP, instances: 2, port, kill_timeout: 5000 };
    await apply({ ...app, exec_mode: 'cluster' });
    await until(async () => ((await answers(port, 20).catch(() => new Set())).size === 2 ? true : undefined));
    await apply(app); // fork mode: host processes on PORT and PORT+1
    const { pid } = await ex.status('mode-0');
    expect(await until(() => ask(port).catch(() => undefined))).toMatch(new RegExp(`^0:${pid}:`));
    for (const n of ex.resolve(['mode'])) await ex.remove(n);
  }, 120_000);

  it('balances a Python program the same way: the kernel balances, whatever listens', async () => {
    const port = await freePort();
    await apply({ name: 'py', script: join(ROOT, 'test', 'fixtures', 'pm2', 'pyweb.py'), exec_mode: 'cluster', instances: 2, port });
    try {
      const ids = await until(async () => {
        const got = await answers(port, 20).catch(() => new Set<string>());
        return got.size === 2 ? got : undefined;
      });
      for (const id of ids) expect(id).toMatch(/^py:/);
    } finally {
      for (const n of ex.resolve(['py'])) await ex.remove(n);
    }
  }, 120_000);

  it('refuses cluster mode without a port, or with isolation that gives instances no address of their own', async () => {
    const refusal = async (app: Record<string, unknown>) => {
      const file = join(storage, `bad-${String(app.name)}.json`);
      writeFileSync(file, JSON.stringify({ apps: [app] }));
      return String(await ex.applyFile(file).then(() => 'applied', (e: Error) => e.message));
    };
    const base = { script: APP, exec_mode: 'cluster', instances: 2 };
    expect(await refusal({ ...base, name: 'a' })).toMatch(/bot a: port: Expected the port every instance listens on/);
    expect(await refusal({ ...base, name: 'b', port: 4000, deployment: { type: 'LOCAL_PROCESS' } })).toMatch(/bot b-0: deployment.type: Expected CUSTOM_CONTAINER for cluster mode/);
    expect(await refusal({ ...base, name: 'c', port: 4000, deployment: { isolation: 'minimal' } })).toMatch(/bot c-0: deployment.isolation: cluster mode needs isolation standard/);
    expect(await refusal({ ...base, name: 'd', port: 4000, wait_ready: true })).toMatch(/bot d: wait_ready: .*listen_timeout/);
    expect(ex.list().map((b) => b.name)).toEqual([]);
  });
});

describe('exact scaling of fork-mode instances', () => {
  it('2 -> 1 -> 2 leaves no orphan on the port, the new instance runs, and `bot rm NAME-1` removes one instance', async () => {
    let port = await freePort();
    while (await portTaken('127.0.0.1', port + 1, 'tcp')) port = await freePort();
    const app = { name: 'fork', script: APP, instances: 2, port, kill_timeout: 5000 };
    await apply(app);
    await until(() => running(['fork-0', 'fork-1']));
    const first = await until(async () => (await Promise.all([ask(port), ask(port + 1)]).catch(() => undefined)));
    const [pid0] = await pids(['fork-0']);
    await apply({ ...app, instances: 1 });
    expect(ex.list().map((b) => b.name)).toEqual(['fork-0']);
    await expect(ask(port + 1)).rejects.toThrow();
    await apply(app);
    expect(ex.list().map((b) => b.name).sort()).toEqual(['fork-0', 'fork-1']);
    // fork-0 was never touched; fork-1 is a new process that holds its port (no crash loop on EADDRINUSE)
    expect(await pids(['fork-0'])).toEqual([pid0]);
    const second = await until(async () => (await Promise.all([ask(port), ask(port + 1)]).catch(() => undefined)));
    expect(second[0]).toBe(first[0]);
    expect(second[1]).not.toBe(first[1]);
    expect((await ex.status('fork-1')).restarts).toBe(0);

    // one instance goes alone; the group name selects what is left
    expect(ex.resolve(['fork-1'])).toEqual(['fork-1']);
    await ex.remove('fork-1');
    expect(ex.list().map((b) => b.name)).toEqual(['fork-0']);
    expect(await ask(port)).toBe(first[0]);
    expect(ex.resolve(['fork'])).toEqual(['fork-0']);
    await ex.remove('fork-0');
    expect(ex.list()).toEqual([]);
  }, 120_000);
});
