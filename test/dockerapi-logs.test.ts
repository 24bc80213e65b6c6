// Logs and events through the Docker API with the docker CLI, as they are sent in bulk: the whole log
// (both streams, a line over 64 KiB in pieces) the same as codex32's own `logs`, with --timestamps,
// --since and --tail; an event history of many containers whole and in order.
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOCKER, dockerApi } from './dockerapi-helpers.js';
import { SLOWDOWN, missing } from './helpers.js';

const skip = missing({ standard: true }) ?? (existsSync(DOCKER) || process.env.CI === 'true' ? undefined : `missing ${DOCKER} (scripts/test-setup.sh installs it)`);
let api: Awaited<ReturnType<typeof dockerApi>>;

beforeAll(async () => {
  if (!skip) api = await dockerApi('c32-dapi-logs-');
}, 60_000 * SLOWDOWN);
afterAll(async () => {
  await api?.stop();
});

// 3000 numbered lines on stdout, every 100th also on stderr, then one line of 150 000 bytes
const SCRIPT = 'i=0; while [ $i -lt 3000 ]; do echo "out $i"; [ $((i % 100)) = 0 ] && echo "err $i" >&2; i=$((i+1)); done; head -c 150000 /dev/zero | tr "\\0" x; echo';
const outLines = [...Array.from({ length: 3000 }, (_, i) => `out ${i}`), 'x'.repeat(150_000)];
const errLines = Array.from({ length: 30 }, (_, i) => `err ${i * 100}`);

describe.skipIf(!!skip)(`Docker API logs and events in bulk${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('gives the whole log, both streams, as codex32 logs does; with timestamps, since and tail', async () => {
    expect((await api.docker(['run', '--name', 'chatty', '--network', 'none', 'host', 'sh', '-c', SCRIPT])).exitCode).toBe(0);
    const whole = await api.docker(['logs', 'chatty']);
    expect(whole.exitCode, whole.stderr).toBe(0);
    expect(whole.stdout.split('\n')).toEqual(outLines);
    expect(whole.stderr.split('\n')).toEqual(errLines);
    const own = await api.cli(['logs', 'chatty']);
    expect(String(own.stdout)).toBe(whole.stdout);

    const stamped = (await api.docker(['logs', '--timestamps', 'chatty'])).stdout.split('\n');
    expect(stamped).toHaveLength(outLines.length);
    stamped.slice(0, 3000).forEach((l, i) => expect(l.replace(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z /, '')).toBe(outLines[i]));
    expect((await api.docker(['logs', '--since', String(Math.floor(Date.now() / 1000) + 60), 'chatty'])).stdout).toBe('');
    expect((await api.docker(['logs', '--until', '2000-01-01T00:00:00Z', 'chatty'])).stdout).toBe('');
    // the last three lines in the log's order: the supervisor reads the two pipes apart, so under load a
    // stderr line can be recorded after stdout lines written later; the file says which came last
    const logPath = (await api.inspect('chatty')).LogPath as string;
    const full = readFileSync(logPath, 'utf8').trimEnd().split('\n').map((l) => l.split(' ')).filter((f) => f[2] === 'F');
    const lastStreams = full.slice(-3).map((f) => f[1]);
    const tail = await api.docker(['logs', '--tail', '3', 'chatty']);
    const outTail = outLines.slice(-lastStreams.filter((st) => st === 'stdout').length);
    expect(tail.stdout.split('\n')).toEqual(outTail);
    expect(tail.stderr ? tail.stderr.split('\n') : []).toEqual(errLines.slice(errLines.length - lastStreams.filter((st) => st === 'stderr').length));
  }, 120_000 * SLOWDOWN);

  it('gives a history of many events whole and in order', async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const c = await api.docker(['create', '--name', `ev${i}`, '--network', 'none', 'host', 'true']);
      expect(c.exitCode, c.stderr).toBe(0);
      ids.push(c.stdout);
    }
    const ev = await api.docker(['events', '--since', String(since), '--until', String(Math.floor(Date.now() / 1000) + 1), '--filter', 'event=create', '--format', '{{.ID}}']);
    expect(ev.exitCode, ev.stderr).toBe(0);
    expect(ev.stdout.split('\n').filter((id) => ids.includes(id))).toEqual(ids);
  }, 120_000 * SLOWDOWN);
});
