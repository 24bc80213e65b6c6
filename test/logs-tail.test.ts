// logs --tail reads a log from its end: the same lines as the whole log's last N, across rotated files,
// both streams counted together as docker counts them.
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { logFiles } from '../src/monitor/logs.js';
import { sandbox, until } from './helpers.js';

const sb = sandbox('c32-tail-');
const { cli } = sb;
afterAll(() => sb.clean());

/** The log's lines as captured, oldest first, read straight from its files (CRI records, each line whole here). */
function captured(logPath: string): Array<{ stream: string; text: string }> {
  const lines: Array<{ stream: string; text: string }> = [];
  for (const f of logFiles(logPath)) {
    for (const rec of readFileSync(f, 'utf8').split('\n')) {
      const m = /^\S+ (stdout|stderr) F (.*)$/.exec(rec);
      if (m) lines.push({ stream: m[1], text: m[2] });
    }
  }
  return lines;
}

describe('logs --tail', () => {
  it('gives the last N lines of the whole log, both streams counted, across rotated files', async () => {
    // about 3.5 MB of lines in 1 MB files: the tail spans the newest file and the one before
    const script = 'i=0; while [ $i -lt 40000 ]; do echo "out line $i with some padding to make it longer than short"; [ $((i % 1000)) = 0 ] && echo "err $i" >&2; i=$((i+1)); done';
    expect((await cli(['run', '-d', '--name', 'chatty', '--isolation', 'minimal', '--log-max-size', '1m', '--log-max-files', '5', 'host', 'sh', '-c', script])).exitCode).toBe(0);
    await until(async () => (await sb.inspect('chatty')).State.Status === 'exited', 120_000, 200);
    // Where a stderr line lands among the stdout ones depends on when the supervisor read each pipe (under
    // load a whole pipe of stdout can be read first), so the expected lines come from the files as captured.
    const all = captured((await sb.inspect('chatty')).LogPath as string);
    expect(all.filter((l) => l.stream === 'stdout')).toHaveLength(40_000);
    for (const n of [1, 100, 25_000]) {
      const r = await cli(['logs', '--tail', String(n), 'chatty']);
      expect(r.exitCode).toBe(0);
      const last = all.slice(-n);
      const want = (s: string) => last.filter((l) => l.stream === s).map((l) => l.text);
      // the last n can be all stderr (the supervisor may read the stdout pipe first): stdout is then empty
      const out = String(r.stdout);
      expect(out === '' ? [] : out.split('\n'), `--tail ${n}`).toEqual(want('stdout'));
      const err = String(r.stderr).split('\n').filter((l) => /^err \d+$/.test(l)); // the container's own lines, not codex32's notices
      expect(err, `--tail ${n}: ${String(r.stderr).slice(0, 300)}`).toEqual(want('stderr'));
    }
    expect(String((await cli(['logs', '--tail', '0', 'chatty'])).stdout)).toBe('');
  });
});
