// logs --tail reads a log from its end: the same lines as the whole log's last N, across rotated files,
// both streams counted together as docker counts them.
import { afterAll, describe, expect, it } from 'vitest';
import { sandbox, until } from './helpers.js';

const sb = sandbox('c32-tail-');
const { cli } = sb;
afterAll(() => sb.clean());

describe('logs --tail', () => {
  it('gives the last N lines of the whole log, both streams counted, across rotated files', async () => {
    // about 3.5 MB of lines in 1 MB files: the tail spans the newest file and the one before
    const script = 'i=0; while [ $i -lt 40000 ]; do echo "out line $i with some padding to make it longer than short"; [ $((i % 1000)) = 0 ] && echo "err $i" >&2; i=$((i+1)); done';
    expect((await cli(['run', '-d', '--name', 'chatty', '--isolation', 'minimal', '--log-max-size', '1m', '--log-max-files', '5', 'host', 'sh', '-c', script])).exitCode).toBe(0);
    await until(async () => (await sb.inspect('chatty')).State.Status === 'exited', 120_000, 200);
    const whole = String((await cli(['logs', 'chatty'])).stdout).split('\n');
    for (const n of [1, 100, 25_000]) {
      const r = await cli(['logs', '--tail', String(n), 'chatty']);
      expect(r.exitCode).toBe(0);
      // N lines of both streams together; the stdout ones are the whole log's last ones
      const out = String(r.stdout).split('\n');
      const err = String(r.stderr).split('\n').filter((l) => /^err \d+$/.test(l)); // the container's own lines, not codex32's notices
      expect(out.length + err.length, `--tail ${n}: ${String(r.stderr).slice(0, 300)}`).toBe(n);
      expect(out, `--tail ${n}`).toEqual(whole.slice(-out.length));
    }
    expect(String((await cli(['logs', '--tail', '0', 'chatty'])).stdout)).toBe('');
  });
});
