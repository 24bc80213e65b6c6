// A stop is graceful, as docker's: the stop signal once to the main process, SIGKILL for the rest only after the grace period.
import { afterAll, describe, expect, it } from 'vitest';
import { missing, pidsWith, sandbox, until } from './helpers.js';

const sb = sandbox();
afterAll(() => sb.clean());
const { cli, inspect } = sb;

// counts every signal it gets, needs 3 s to shut down, and leaves a double-forked setsid orphan behind
const BOT = `
import os, signal, sys, time
got = []
for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2, signal.SIGCONT):
    signal.signal(s, lambda n, f: got.append(n))
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        signal.signal(signal.SIGTERM, lambda n, f: print("orphan got", n, flush=True))
        while True:
            time.sleep(1)
    os._exit(0)
os.wait()
print("ready", flush=True)
while not got:
    time.sleep(0.02)
t0 = time.time()
while time.time() - t0 < 3:
    time.sleep(0.05)
print("signals", ",".join(map(str, got)), flush=True)
`;

for (const level of ['minimal', 'standard', 'strict'] as const) {
  const skip = level === 'minimal' ? undefined : missing({ [level]: true });
  describe.skipIf(!!skip)(`${level}${skip ? ` (skipped: ${skip})` : ''}`, () => {
    it('stop sends one SIGTERM to the main process, waits its 3 s, and leaves no process behind', async () => {
      const name = `sigbot-${level}`;
      const r = await cli(['run', '-d', '--isolation', level, '--stop-timeout', '60', '--name', name, 'host', 'python3', '-c', BOT, name]);
      expect(r.exitCode, String(r.stderr)).toBe(0);
      await until(async () => String((await cli(['logs', name])).stdout).includes('ready'), 30_000, 100);
      expect(pidsWith(name).length).toBe(2); // the bot and its orphan
      const t0 = Date.now();
      expect((await cli(['stop', name])).exitCode).toBe(0);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(2900); // its 3 s, not cut short (the grace is a generous 60 s: load cannot make it run out)
      const logs = String((await cli(['logs', name])).stdout);
      expect(logs).toBe('ready\nsignals 15'); // exactly one signal, SIGTERM; the orphan got none
      const doc = await inspect(name);
      expect(doc.State.ExitCode).toBe(0);
      await until(() => pidsWith(name).length === 0, 30_000);
    });
  });
}

describe('restart', () => {
  it('restart stops with one SIGTERM too, then runs the bot again', async () => {
    const name = 'sigbot-restart';
    await cli(['run', '-d', '--isolation', 'minimal', '--stop-timeout', '60', '--name', name, 'host', 'python3', '-c', BOT, name]);
    await until(async () => String((await cli(['logs', name])).stdout).includes('ready'), 30_000, 100);
    expect((await cli(['restart', name])).exitCode).toBe(0);
    await until(async () => String((await cli(['logs', name])).stdout).split('ready').length === 3, 30_000, 100);
    expect(String((await cli(['logs', name])).stdout)).toBe('ready\nsignals 15\nready');
    expect((await inspect(name)).Runs[0].exitCode).toBe(0);
    await cli(['rm', '-f', name]);
    await until(() => pidsWith(name).length === 0, 30_000);
  });
});
