// Events carry the time the supervisor observed them, not the time a codex32 process happened to look.
import { afterAll, describe, expect, it } from 'vitest';
import { sandbox, sleep, until } from './helpers.js';

const sb = sandbox('c32-evtime-');
afterAll(() => sb.clean());

describe('event times', () => {
  it('each exit and restart is stamped when the supervisor saw it, in order, even when nobody looked meanwhile', async () => {
    const r = await sb.cli(['run', '-d', '--isolation', 'minimal', '--name', 'ev', '--restart', 'on-failure:2', 'host', 'sh', '-c', 'sleep 0.3; exit 1']);
    expect(r.exitCode).toBe(0);
    // looked at only once a second, so several exits and restarts fall between two looks
    await until(async () => {
      await sleep(1000);
      return (await sb.inspect('ev')).State.Status === 'exited';
    }, 60_000, 0);
    const runs = (await sb.inspect('ev')).Runs as Array<{ run: number; startedAt: number; finishedAt: number }>;
    expect(runs).toHaveLength(3);
    const events = String((await sb.cli(['events', '--json'])).stdout).split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; time: number });
    const dies = events.filter((e) => e.type === 'die').map((e) => e.time);
    const restarts = events.filter((e) => e.type === 'restart').map((e) => e.time);
    expect(dies).toEqual(runs.map((x) => x.finishedAt));
    expect(restarts).toEqual(runs.slice(1).map((x) => x.startedAt));
    const times = events.map((e) => e.time);
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });
});
