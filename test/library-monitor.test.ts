// Monitoring an app builder relies on: CPU time that survives its processes, OOM kills of any process.
import { afterAll, describe, expect, it } from 'vitest';
import { ContainerEngine } from '../src/index.js';
import { missing, sandbox, until } from './helpers.js';

const sb = sandbox();
const engine = new ContainerEngine({ storageDir: sb.storage, isolation: 'standard' });
afterAll(async () => {
  engine.close();
  await sb.clean();
});

const logText = async (ref: string) => {
  let s = '';
  for await (const r of engine.logs(ref)) s += r.data.toString();
  return s;
};

const skipCpu = missing({ standard: true, cgroup: ['cpu'] });
it.skipIf(!!skipCpu)(`stats keep the CPU time of processes that have exited${skipCpu ? ` (skipped: ${skipCpu})` : ''}`, async () => {
  // a child burns CPU and exits (as an npm install does); only an idle sleep remains
  const busy = 'i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done';
  const c = await engine.create({ name: 'cpu', image: 'host', command: ['sh', '-c', `sh -c '${busy}'; echo done; exec sleep 300`] });
  await c.start();
  await until(async () => (await logText('cpu')).includes('done'), 60_000, 100);
  const [s] = await engine.stats(['cpu']);
  expect(s.cpuMs).toBeGreaterThan(100);
  await c.remove(true);
});

const skipOom = missing({ standard: true, cgroup: ['memory'] });
describe.skipIf(!!skipOom)(`OOM kills${skipOom ? ` (skipped: ${skipOom})` : ''}`, () => {
  it('an exec\'d process killed by the OOM killer is recorded with an event; the container runs on', async () => {
    const c = await engine.create({ name: 'oom', image: 'host', command: ['sleep', '300'], limits: { memory: 32 * 1024 * 1024 } });
    await c.start();
    const fine = await engine.exec('oom', ['sh', '-c', 'exit 3']);
    expect(fine).toMatchObject({ exitCode: 3, oomKilled: false });
    const r = await engine.exec('oom', ['sh', '-c', 'head -c 300000000 /dev/zero | tail > /dev/null']);
    expect(r.exitCode).toBe(137);
    expect(r.oomKilled).toBe(true);
    // a SIGKILL that is not the OOM killer's is not called one
    const killed = await engine.exec('oom', ['sh', '-c', 'kill -9 $$']);
    expect(killed).toMatchObject({ exitCode: 137, oomKilled: false });
    const doc = await c.inspect();
    expect(doc.State.Running).toBe(true);
    const ooms = engine.events().filter((e) => e.containerId === c.id && e.type === 'oom');
    expect(ooms).toHaveLength(1);
    // the kernel may take a second process of the pipeline under the same pressure: one event, every kill counted
    expect((ooms[0].attrs as { kills: number }).kills).toBeGreaterThanOrEqual(1);
    // seen once: a later look records nothing new
    await c.inspect();
    expect(engine.events().filter((e) => e.containerId === c.id && e.type === 'oom')).toHaveLength(1);
    await c.remove(true);
  });

  it('wait with details says whether the OOM killer ended the main process', async () => {
    const hog = await engine.create({ name: 'oom-main', image: 'host', command: ['python3', '-c', 'x = bytearray(300 * 1024 * 1024)'], limits: { memory: 32 * 1024 * 1024 } });
    await hog.start();
    expect(await engine.wait('oom-main', { details: true })).toEqual({ exitCode: 137, oomKilled: true });
    expect(await engine.wait('oom-main')).toBe(137);
    const calm = await engine.create({ name: 'oom-none', image: 'host', command: ['sh', '-c', 'exit 4'], limits: { memory: 32 * 1024 * 1024 } });
    await calm.start();
    expect(await engine.wait('oom-none', { details: true })).toEqual({ exitCode: 4, oomKilled: false });
    await hog.remove(true);
    await calm.remove(true);
  });
});
