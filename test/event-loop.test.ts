// The library never stalls the process that embeds it: each kind of operation (create, start, exec, copy,
// stop, remove) at every isolation level and network mode is measured with monitorEventLoopDelay, from a
// process with a large heap (~300 MB, as a server embedding it), and its longest delay must stay under the
// bound: 5 ms aimed at, ×5 for a loaded shared machine. Forking this process would not fit in it (libuv
// forks on the event loop's thread, its cost growing with the heap): every process is started by the
// launcher (src/runtime/spawn.ts). A bare spawn from here is measured beside, as the figure it avoids.
import { spawn } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContainerEngine } from '../src/index.js';
import { privateNetworkMissing } from '../src/engine/network.js';
import { missing, sandbox } from './helpers.js';

const BOUND_MS = 25;
const HEAP_MB = 300;
const sb = sandbox('c32-evloop-');
const engine = new ContainerEngine({ storageDir: sb.storage, isolation: 'standard' });
afterAll(async () => {
  engine.close();
  await sb.clean();
});

// the embedding server's memory: live objects on the heap (their pages are what a fork would copy the tables of)
const ballast: object[][] = [];
beforeAll(() => {
  const target = process.memoryUsage.rss() + HEAP_MB * 2 ** 20;
  while (process.memoryUsage.rss() < target) ballast.push(Array.from({ length: 128 * 1024 }, (_, i) => ({ i })));
});
afterAll(() => void ballast.splice(0));

type Level = 'minimal' | 'standard' | 'strict';
interface Case {
  level: Level;
  mode: 'host' | 'none' | 'private' | 'usernet';
  skip?: string;
}
const noPrivate = process.env.CI === 'true' ? undefined : privateNetworkMissing()[0];
const CASES: Case[] = [
  { level: 'minimal', mode: 'host' },
  { level: 'standard', mode: 'none', skip: missing({ standard: true }) },
  { level: 'standard', mode: 'host', skip: missing({ standard: true }) },
  { level: 'standard', mode: 'private', skip: missing({ standard: true }) ?? noPrivate },
  { level: 'standard', mode: 'usernet', skip: missing({ standard: true }) ?? noPrivate },
  { level: 'strict', mode: 'none', skip: missing({ strict: true }) },
  { level: 'strict', mode: 'private', skip: missing({ strict: true }) ?? noPrivate },
  { level: 'strict', mode: 'usernet', skip: missing({ strict: true }) ?? noPrivate },
];

/** The longest event-loop delay (ms) while op ran, with op's result. */
async function measured<T>(op: () => Promise<T>): Promise<{ maxMs: number; value: T }> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  // the histogram's first timer tick only sets its clock: a stall before it would go unseen
  await new Promise((r) => setTimeout(r, 5));
  try {
    const value = await op();
    // one more turn so a stall at the very end is sampled too
    await new Promise((r) => setTimeout(r, 2));
    return { maxMs: h.max / 1e6, value };
  } finally {
    h.disable();
  }
}

const figures: string[] = [];
afterAll(() => console.log(`event-loop max delay per operation (ms, bound ${BOUND_MS}, RSS ${(process.memoryUsage.rss() / 2 ** 20).toFixed(0)} MB):\n${figures.join('\n')}`));

/** One full round on a new container; the longest delay (ms) per kind of operation. */
async function round(c: Case, name: string): Promise<Record<string, number>> {
  const net = `evlnet-${c.level}`;
  if (c.mode === 'usernet') await engine.network.create({ name: net });
  const network = c.mode === 'usernet' || c.level === 'minimal' ? {} : { network: c.mode as 'host' | 'none' | 'private' };
  const networks = c.mode === 'usernet' ? { networks: [{ name: net, aliases: [] }] } : {};
  const publish = c.mode === 'private' ? { publish: [{ hostIp: '127.0.0.1', hostPort: 0, containerPort: 8000, protocol: 'tcp' as const }] } : {};
  const got: Record<string, number> = {};
  const step = async <T>(kind: string, op: () => Promise<T>): Promise<T> => {
    const { maxMs, value } = await measured(op);
    got[kind] = Math.max(got[kind] ?? 0, maxMs);
    return value;
  };
  await step('create', () => engine.create({ name, image: 'host', command: ['sleep', '300'], isolation: c.level, ...network, ...networks, ...publish }));
  await step('start', () => engine.start(name));
  const r = await step('exec', () => engine.exec(name, ['sh', '-c', 'echo hi']));
  expect(r, `exec said: ${String((r as { stderr?: unknown }).stderr)}`).toMatchObject({ exitCode: 0, stdout: 'hi\n' });
  await step('copy', () => engine.writeFiles(name, [{ path: '/tmp/evl.txt', content: 'x'.repeat(256 * 1024) }]));
  const [read] = await step('copy', () => engine.readFiles(name, ['/tmp/evl.txt']));
  expect(read!.size).toBe(256 * 1024);
  await step('stop', () => engine.stop(name, { timeout: 5 }));
  await step('remove', () => engine.remove(name, { force: true }));
  if (c.mode === 'usernet') await engine.network.remove(net);
  return got;
}

/**
 * The figure printed beside, measured in the same round: the longest delay of spawning a bare `true`
 * three times from this process, a fork() of it on the event loop's thread (libuv), whose cost grows with
 * its memory and the host's load: what every ip, nft or helper the library starts would cost without the
 * launcher.
 */
async function spawnAnchor(): Promise<number> {
  const { maxMs } = await measured(async () => {
    for (let i = 0; i < 3; i++) await new Promise((r) => spawn('true').on('close', r));
  });
  return maxMs;
}

for (const c of CASES) {
  const label = `${c.level} / ${c.mode}`;
  describe.skipIf(!!c.skip)(`${label}${c.skip ? ` (skipped: ${c.skip})` : ''}`, () => {
    it('create, start, exec, copy, stop and remove never block the event loop', async () => {
      // A stall of our own comes back every round; the host taking the CPU away from this process (other
      // containers, other tests) does not. So each kind keeps its best round, over at most eight.
      const best: Record<string, number> = {};
      const spawns: number[] = [];
      for (let i = 0; i < 8; i++) {
        spawns.push(await spawnAnchor());
        const got = await round(c, `evl-${c.level}-${c.mode}-${i}`);
        for (const [k, ms] of Object.entries(got)) best[k] = Math.min(best[k] ?? Infinity, ms);
        if (Object.values(best).every((ms) => ms <= BOUND_MS)) break;
      }
      const fork = Math.min(...spawns);
      figures.push(`  ${label.padEnd(20)} ${Object.entries(best).map(([k, ms]) => `${k} ${ms.toFixed(1)}`).join('  ')}  (a bare spawn from here: ${fork.toFixed(1)})`);
      // every kind named with its figure when it goes over, so a failure says which operation stalled
      const over = Object.entries(best).filter(([, ms]) => ms > BOUND_MS).map(([k, ms]) => `${k} ${ms.toFixed(1)} ms`);
      expect(over, `over ${BOUND_MS} ms at best of ${spawns.length} rounds (a bare spawn stalled ${fork.toFixed(1)} ms at best)`).toEqual([]);
    }, 240_000);
  });
}
