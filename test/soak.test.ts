// The two-minute soak (bench/soak-lib.mjs, whose ten-minute run is bench/soak.mjs): restart-always bots
// count their own starts while supervisors, client CLIs and the Docker API service are SIGKILLed at random
// and 20 clients run ps, inspect, logs, stop and start. Nothing may be lost, doubled, stuck or left behind.
import { describe, expect, it } from 'vitest';
import { matchRuns, runSoak } from '../bench/soak-lib.mjs';
import { SLOWDOWN, missing } from './helpers.js';

const skip = missing({ standard: true });

/** A finding on one line: what was found, and around it the neighbouring runs and the container's events. */
function brief(f: { name: string; why: string; start?: number; run?: number; around?: Array<{ run: number; startedAt: number; finishedAt: number; reason: string }>; events?: string[] }): string {
  const around = (f.around ?? []).map((r) => `#${r.run} ${r.startedAt}..${r.finishedAt} ${r.reason}`).join(', ');
  return `${f.name} ${f.why}: ${f.start ?? `run ${f.run}`}${around ? ` [${around}]` : ''}${f.events?.length ? ` events: ${f.events.join('; ')}` : ''}`;
}

describe('soak', () => {
  it.skipIf(!!skip)(
    'every counted start is one recorded run, with supervisors, CLIs and the service killed meanwhile',
    async () => {
      const r = await runSoak({ minutes: 2, bots: 40, clients: 20 });
      const summary = { starts: r.starts, runs: r.runs, uncounted: r.uncounted, kills: r.kills, commands: r.commands, seconds: r.seconds };
      console.info(`soak: ${JSON.stringify(summary)}`);

      // the matching can fail: a real bot's history with one counted run dropped, or one run twice
      const name = Object.keys(r.startsOf).find((n) => r.startsOf[n].length >= 2)!;
      expect(name).toBeDefined();
      const runs = r.runsOf[name];
      const counted = runs.find((run) => r.startsOf[name].some((t) => run.startedAt <= t && t <= run.finishedAt))!;
      expect(matchRuns(name, r.startsOf[name], runs).lost).toEqual([]);
      expect(matchRuns(name, r.startsOf[name], runs.filter((run) => run !== counted)).lost).toHaveLength(1);
      expect(matchRuns(name, r.startsOf[name], [...runs, counted]).doubled.length).toBeGreaterThan(0);

      // the chaos happened, and the bots ran through it
      expect(r.kills.supervisor).toBeGreaterThan(0);
      expect(r.kills.cli).toBeGreaterThan(0);
      expect(r.kills.service).toBeGreaterThan(0);
      expect(r.starts).toBeGreaterThan(r.bots);

      // one line a finding, with the runs either side and the events around it: a CI log keeps only its tail
      expect(r.lost.map(brief)).toEqual([]);
      expect(r.doubled.map(brief)).toEqual([]);
      expect(r.stuck).toEqual([]);
      expect(r.crashes).toEqual([]);
      expect(r.check).toEqual({ healthy: true, advice: [] });
      expect(r.leftovers).toEqual([]);
    },
    20 * 60_000 * SLOWDOWN,
  );
});
