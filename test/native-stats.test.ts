// `stats --no-stream` and `stats --json` answered by the native front end (native/cli/stats.c) print what the
// Node CLI prints for the same running containers: every cell and key alike, only the sampled figures (CPU %,
// memory in use, uptime) may differ between the two runs. Anything it cannot sample as Node does goes to Node.
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, missing, nativeSandbox } from './helpers.js';

const NATIVE = join(ROOT, 'build', 'codex32-cli');
const why = missing({ standard: true, cgroup: ['cpu', 'memory', 'pids'] }) ?? (existsSync(NATIVE) || process.env.CI === 'true' ? undefined : 'build/codex32-cli is not built (make build)');

/** The cells of a table row: columns are padded with three or more blanks, cells hold single ones. */
const cells = (line: string) => line.split(/ {2,}/);
/** The sampled figures of stats --json, zeroed so the rest can be compared byte for byte. */
const unsampled = (json: string) => json.replace(/"(CPUPerc|MemUsage|MemRSS|UptimeMs)": [^,\n]+/g, '"$1": 0');

describe.skipIf(why)('native stats', () => {
  const { sb, direct, native, clean } = nativeSandbox('c32-nstats-');
  const node = (args: string[]) => direct(args, { CODEX32_NATIVE: '0' });
  const db = () => new Database(join(sb.storage, 'state.db'));

  beforeAll(async () => {
    const run = async (args: string[]) => expect((await sb.cli(args)).exitCode).toBe(0);
    await run(['run', '-d', '--name', 'busy', '--cpus', '0.3', 'host', 'sh', '-c', 'while :; do :; done']);
    await run(['run', '-d', '--name', 'capped', '--memory', '64m', '--restart', 'always', 'host', 'sleep', '300']);
    await run(['run', '-d', '--name', 'two', 'host', 'sh', '-c', 'sleep 300 & sleep 301; wait']);
    await run(['run', '--name', 'done', 'host', 'true']);
    // the first look after a start records the supervisor's mark (a write): Node's to make
    await run(['ps']);
    // started long enough ago, and far from a rounding step, that both runs print the same uptime
    const d = db();
    d.prepare("UPDATE containers SET state = json_set(state, '$.startedAt', CAST(? AS INTEGER)) WHERE status = 'running'").run(Date.now() - 5 * 3_600_000);
    d.close();
  }, 120_000);
  afterAll(clean);

  it.each([[['stats', '--no-stream']], [['stats', '--no-stream', 'capped', 'busy']], [['--storage', '', 'stats', '--no-stream']]])(
    '%j prints the table Node prints, without starting Node',
    async (args: string[]) => {
      if (args[1] === '') args[1] = sb.storage;
      const [n, j] = [await native(args), await node(args)];
      expect(j.exitCode).toBe(0);
      expect(n.exitCode).toBe(0);
      expect(n.stderr).toBe(j.stderr);
      const [a, b] = [String(n.stdout).split('\n'), String(j.stdout).split('\n')];
      expect(a[0]).toBe(b[0]); // the header
      expect(a).toHaveLength(b.length);
      for (const [i, line] of a.entries()) {
        if (i === 0 || !line) continue;
        const [x, y] = [cells(line), cells(b[i])];
        // CPU % and memory in use are sampled: their shape must match, the limit and MEM % column's presence too
        expect(x[2]).toMatch(/^\d+\.\d\d%$/);
        expect(x[3]).toMatch(/^\d+\.\d(KiB|MiB) \/ /);
        expect(x[3].split(' / ')[1]).toBe(y[3].split(' / ')[1]);
        expect(x[4] === '-').toBe(y[4] === '-');
        expect([x[0], x[1], x[5], x[6], x[7]]).toEqual([y[0], y[1], y[5], y[6], y[7]]);
      }
      expect(a.map((l) => cells(l)[1]).filter(Boolean)).toEqual(args.length > 2 && args[0] === 'stats' ? ['NAME', 'capped', 'busy'] : ['NAME', 'two', 'capped', 'busy']);
    },
  );

  it('samples what Node samples: the busy container uses CPU, the capped one shows its limit', async () => {
    const rows = (out: string) => Object.fromEntries(out.trim().split('\n').slice(1).map((l) => [cells(l)[1], cells(l)]));
    const [a, b] = [rows(String((await native(['stats', '--no-stream'])).stdout)), rows(String((await node(['stats', '--no-stream'])).stdout))];
    for (const r of [a, b]) {
      expect(parseFloat(r.busy[2])).toBeGreaterThan(1);
      expect(parseFloat(r.busy[2])).toBeLessThan(100); // --cpus 0.3 throttles it
      expect(r.capped[3]).toMatch(/ \/ 64\.0MiB$/);
      expect(r.capped[4]).toMatch(/^\d+\.\d\d%$/);
    }
  });

  it.each([[['stats', '--json']], [['stats', '--no-stream', '--json']], [['stats', '--json', 'two', 'busy', 'done']], [['stats', '--json', 'done']]])(
    '%j prints the JSON Node prints, without starting Node',
    async (args: string[]) => {
      const [n, j] = [await native(args), await node(args)];
      expect(j.exitCode).toBe(0);
      expect(n.exitCode).toBe(0);
      expect(unsampled(String(n.stdout))).toBe(unsampled(String(j.stdout)));
      const parsed = JSON.parse(String(n.stdout)) as Array<{ CPUPerc: number; MemUsage: number; MemRSS: number }>;
      for (const s of parsed) {
        expect(Number(s.CPUPerc.toFixed(2))).toBe(s.CPUPerc);
        expect(s.MemUsage).toBeGreaterThan(0);
        expect(s.MemRSS).toBeGreaterThan(0);
      }
    },
  );

  it.each([[['stats']], [['stats', '--no-stream', '-a']], [['stats', '--no-stream', 'no-such-container']], [['stats', '--no-stream', '--', 'busy']]])(
    '%j goes to Node',
    async (args: string[]) => {
      expect((await native(args)).exitCode).toBe(97);
      if (args.includes('--no-stream')) {
        const [r, j] = [await direct(args), await node(args)];
        expect([r.exitCode, r.stderr]).toEqual([j.exitCode, j.stderr]);
      }
    },
  );

  it('leaves a container without CPU accounting in its cgroups, and bots, to Node', async () => {
    const d = db();
    const { c } = d.prepare("SELECT json_extract(state, '$.cgroups.cpuUsage') AS c FROM containers WHERE name = 'two'").get() as { c: string };
    d.prepare("UPDATE containers SET state = json_remove(state, '$.cgroups.cpuUsage') WHERE name = 'two'").run();
    expect((await native(['stats', '--no-stream'])).exitCode).toBe(97);
    expect((await native(['stats', '--no-stream', 'busy'])).exitCode).toBe(0);
    const r = await direct(['stats', '--no-stream']);
    expect(r.exitCode).toBe(0);
    expect(String(r.stdout)).toMatch(/ two /); // Node sums its processes instead
    d.prepare("UPDATE containers SET state = json_set(state, '$.cgroups.cpuUsage', ?) WHERE name = 'two'").run(c);
    d.prepare("INSERT INTO bots (name, type, created_at, updated_at, config) VALUES ('b1', 'LOCAL_PROCESS', 0, 0, '{}')").run();
    try {
      expect((await native(['stats', '--no-stream', 'busy'])).exitCode).toBe(97);
    } finally {
      d.prepare("DELETE FROM bots WHERE name = 'b1'").run();
      d.close();
    }
    expect((await native(['stats', '--no-stream'])).exitCode).toBe(0);
  });

  it('hands a running row whose supervisor is gone to Node, which reconciles it', async () => {
    const d = db();
    const { pid } = JSON.parse((d.prepare("SELECT json_extract(state, '$.shim') AS s FROM containers WHERE name = 'capped'").get() as { s: string }).s);
    d.close();
    process.kill(pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 200));
    expect((await native(['stats', '--no-stream'])).exitCode).toBe(97);
    expect((await direct(['stats', '--no-stream'])).exitCode).toBe(0);
  });
});
