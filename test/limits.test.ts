// Limits that hold per container: --pids is a pids cgroup, never a per-uid rlimit shared across the host.
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cgroupDir, missing, pidsWith, sandbox, until } from './helpers.js';

const sb = sandbox();
chmodSync(sb.storage, 0o711); // uid 1000 must reach its container's app directory
afterAll(() => sb.clean());
const { cli, inspect } = sb;

/** python that forks children which sleep under MARKER until it cannot (or has made max), then prints how many */
const forker = (marker: string, max: number) => [
  'import os, sys, time',
  'n = 0',
  `while n < ${max}:`,
  '  try:',
  '    pid = os.fork()',
  '  except OSError:',
  '    break',
  '  if pid == 0:',
  `    os.execvp("sleep", ["sleep", "300", "${marker}"])`,
  '  n += 1',
  'print(n, flush=True)',
  'time.sleep(300)',
].join('\n');

const skipPids = missing({ cgroup: ['pids'] });
describe.skipIf(!!skipPids)(`--pids at minimal${skipPids ? ` (skipped: ${skipPids})` : ''}`, () => {
  it('limits one container, not every container of the same uid', async () => {
    const M = ['--isolation', 'minimal', '-u', '1000'];
    // a neighbour of the same uid with 30 processes: under RLIMIT_NPROC 20 the limited one could not fork at all
    await cli(['run', '-d', ...M, '--name', 'crowd', 'host', 'python3', '-c', forker('c32crowd', 30)]);
    await until(async () => String((await cli(['logs', 'crowd'])).stdout).trim() === '30', 30_000, 100);

    await cli(['run', '-d', ...M, '--pids', '20', '--name', 'capped', 'host', 'python3', '-c', forker('c32capped', 40)]);
    const capped = Number(await until(async () => String((await cli(['logs', 'capped'])).stdout).trim(), 30_000, 100));
    expect(capped).toBe(19); // python itself is the twentieth
    const id = (await inspect('capped')).Id;
    expect(readFileSync(`${cgroupDir(id, 'pids')}/pids.max`, 'utf8').trim()).toBe('20');

    // the capped container is at its limit; another of the same uid still forks freely
    const r = await cli(['run', '--rm', ...M, 'host', 'sh', '-c', 'for i in 1 2 3 4 5; do true & done; wait; echo forked']);
    expect(String(r.stdout)).toBe('forked');
    expect(r.exitCode).toBe(0);

    await cli(['rm', '-f', 'crowd', 'capped']);
    await until(() => pidsWith('c32crowd').length + pidsWith('c32capped').length === 0, 10_000);
  });
});

describe('--pids at minimal on a host without a pids cgroup', () => {
  it('is refused with the reason, and nothing is created', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'c32-nocg-'));
    // compared with what was there: a container another test left behind is not this one's doing
    const before = String((await cli(['ps', '-aq'])).stdout);
    try {
      const r = await cli(['create', '--isolation', 'minimal', '--pids', '20', 'host', 'true'], { env: { ...sb.env, CODEX32_CGROUP_ROOT: empty } });
      expect(r.exitCode).toBe(125);
      expect(String(r.stderr)).toContain('no usable cgroup pids controller');
      expect(String(r.stderr)).toContain('RLIMIT_NPROC counts every process of the uid on the host');
      expect(String((await cli(['ps', '-aq'])).stdout)).toBe(before);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe('durations reach the supervisor to the millisecond', () => {
  it('a fractional --stop-timeout is kept, not cut to whole seconds', async () => {
    // TERM is ignored (inherited by sleep), so only SIGKILL after the 1.5 s grace ends the run
    const r = await cli(['run', '--isolation', 'minimal', '--name', 'graceful', '--timeout', '1', '--stop-timeout', '1.5', 'host', 'sh', '-c', 'trap "" TERM; sleep 30']);
    expect(r.exitCode).toBe(137);
    const [run] = (await inspect('graceful')).Runs as Array<{ startedAt: number; finishedAt: number; reason: string }>;
    expect(run.reason).toBe('timeout');
    expect(run.finishedAt - run.startedAt).toBeGreaterThanOrEqual(2450); // 1 s timeout + 1.5 s grace; timers never fire early
    await cli(['rm', 'graceful']);
  });
});
