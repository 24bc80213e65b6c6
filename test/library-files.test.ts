// The library's file calls as an app builder uses them: asynchronous copies and removal, writeFiles and readFiles.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, describe, expect, it } from 'vitest';
import { ContainerEngine } from '../src/index.js';
import { missing, sandbox } from './helpers.js';

const sb = sandbox();
const engine = new ContainerEngine({ storageDir: sb.storage, isolation: 'standard' });
const work = mkdtempSync(join(tmpdir(), 'c32-libfiles-'));
afterAll(async () => {
  engine.close();
  await sb.clean();
  rmSync(work, { recursive: true, force: true });
});

/**
 * How the event loop fared while fn ran: the longest gap between ticks of a 2 ms timer, and how many ticks
 * fired before fn finished. A synchronous copy or rm -rf lets none fire until it is over, however fast or
 * loaded the machine; an asynchronous one lets them through.
 */
async function loopWhile(fn: () => Promise<unknown>): Promise<{ stall: number; ticks: number }> {
  let last = performance.now();
  let max = 0;
  let ticks = 0;
  const t = setInterval(() => {
    const now = performance.now();
    max = Math.max(max, now - last);
    last = now;
    ticks++;
  }, 2);
  let during = 0;
  try {
    await fn();
    during = ticks;
    await new Promise((r) => setTimeout(r, 20)); // let a stalled timer fire and be counted
  } finally {
    clearInterval(t);
  }
  return { stall: max, ticks: during };
}

describe('nothing blocks the event loop', () => {
  it('creating and removing a container with a 100 MB app copies and deletes asynchronously', async () => {
    const app = join(work, 'big');
    const chunk = Buffer.alloc(50 * 1024, 7);
    for (let d = 0; d < 20; d++) {
      mkdirSync(join(app, `d${d}`), { recursive: true });
      for (let f = 0; f < 100; f++) writeFileSync(join(app, `d${d}`, `f${f}`), chunk);
    }
    writeFileSync(join(app, 'main.sh'), 'echo hi\n');
    let id = '';
    const create = await loopWhile(async () => {
      id = (await engine.create({ name: 'big', image: `${app}/`, isolation: 'minimal', command: ['true'] })).id;
    });
    const remove = await loopWhile(() => engine.remove(id));
    console.log(`event loop: create ${create.ticks} ticks, longest stall ${create.stall.toFixed(1)} ms; remove ${remove.ticks} ticks, ${remove.stall.toFixed(1)} ms`);
    // copying and deleting 2,000 files take long enough for several ticks, but only if done asynchronously
    expect(create.ticks).toBeGreaterThanOrEqual(3);
    expect(remove.ticks).toBeGreaterThanOrEqual(3);
    // and no single step holds the loop for long (loose: the machine may be loaded; the old copy took seconds)
    expect(create.stall).toBeLessThan(1500);
    expect(remove.stall).toBeLessThan(1500);
  });
});

const skipStd = missing({ standard: true });
describe.skipIf(!!skipStd)(`writeFiles and readFiles${skipStd ? ` (skipped: ${skipStd})` : ''}`, () => {
  it('write contents and modes in one call, read them back exactly, parents made as needed', async () => {
    const c = await engine.create({ name: 'wr', image: 'host', command: ['sleep', '300'] });
    await c.start();
    await engine.writeFiles('wr', [
      { path: '/app/a.txt', content: 'hello\n\n' },
      { path: '/app/sub/deep/run.sh', content: Buffer.from('#!/bin/sh\necho ran\n'), mode: 0o755 },
      { path: '/tmp/bin.dat', content: Buffer.from([0, 255, 1, 254]) },
    ]);
    expect((await engine.exec('wr', ['/app/sub/deep/run.sh'])).stdout).toBe('ran\n');
    const [a, run, bin] = await engine.readFiles('wr', ['/app/a.txt', '/app/sub/deep/run.sh', '/tmp/bin.dat']);
    expect(a).toMatchObject({ path: '/app/a.txt', type: 'file', mode: 0o644 });
    expect(a.content.toString()).toBe('hello\n\n');
    expect(run.mode).toBe(0o755);
    expect([...bin.content]).toEqual([0, 255, 1, 254]);
    // existing directories keep their mode: no directory entries are written
    await c.stop(0);
    // a stopped container's files are still readable
    expect((await engine.readFiles('wr', ['/app/a.txt']))[0].content.toString()).toBe('hello\n\n');
  });

  it('a file written into /tmp as soon as start returns is in the running container', async () => {
    // start returns once the supervisor has recorded the container running: the copy joins the running
    // container, never a private root assembled for a stopped one whose /tmp is thrown away
    for (let i = 0; i < 8; i++) {
      const c = await engine.create({ name: `early${i}`, image: 'host', command: ['sleep', '300'] });
      await c.start();
      await engine.writeFiles(c.id, [{ path: '/tmp/early.txt', content: `run ${i}` }]);
      expect((await engine.exec(c.id, ['cat', '/tmp/early.txt'])).stdout).toBe(`run ${i}`);
      await engine.remove(c.id, { force: true });
    }
  });

  it('a missing path is NO_SUCH_PATH naming it; a bad path is refused', async () => {
    await expect(engine.readFiles('wr', ['/app/a.txt', '/app/nope'])).rejects.toMatchObject({ code: 'NO_SUCH_PATH', context: { path: '/app/nope' } });
    // every time, whatever the helper's stderr says or whether it arrived: a host file the container does not see too
    for (let i = 0; i < 3; i++)
      await expect(engine.readFiles('wr', ['/etc/shadow'])).rejects.toMatchObject({ code: 'NO_SUCH_PATH', message: 'No such file in container wr: /etc/shadow' });
    await expect(engine.writeFiles('wr', [{ path: 'relative.txt', content: 'x' }])).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
    await expect(engine.writeFiles('wr', [{ path: '/app/../etc/x', content: 'x' }])).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
  });

  it('never writes or reads through a link out of the container', async () => {
    const hostDir = mkdtempSync(join(tmpdir(), 'c32-host-'));
    writeFileSync(join(hostDir, 'secret'), 'host secret');
    mkdirSync(join(work, 'linkapp'), { recursive: true });
    const c = await engine.create({ name: 'links', image: `${join(work, 'linkapp')}/`, isolation: 'minimal', command: ['sleep', '300'] });
    await c.start();
    // at minimal the command runs on the host: its links point at the host's paths
    await engine.exec('links', ['sh', '-c', `ln -s ${hostDir} out; ln -s ${hostDir}/secret secretlink`]);
    await engine.writeFiles('links', [{ path: '/out/pwned', content: 'x' }]).catch(() => undefined);
    expect(existsSync(join(hostDir, 'pwned'))).toBe(false);
    const [link] = await engine.readFiles('links', ['/secretlink']);
    expect(link).toMatchObject({ type: 'symlink', linkTarget: `${hostDir}/secret` });
    expect(link.content.length).toBe(0);
    await c.remove(true);
    rmSync(hostDir, { recursive: true, force: true });
  });
});
