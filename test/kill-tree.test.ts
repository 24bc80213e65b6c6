// Killing a container whose processes keep forking leaves nothing behind: the supervisor kills the
// cgroup at once (cgroup.kill) or freezes it first (the v1 freezer, v2 cgroup.freeze), so no fork races the kill.
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { host, missing, pidsWith, sandbox, until } from './helpers.js';

const sb = sandbox('c32-killtree-');
afterAll(() => sb.clean());
const env = { ...sb.env, CODEX32_NATIVE: '0' };
const cli = (args: string[]) => sb.cli(args, { env });

// every process forks again every 10 ms, whatever fails: a tree that is always mid-fork
const BOMB = ['import os, sys, time', 'while True:', '    try:', '        os.fork()', '    except OSError:', '        pass', '    time.sleep(0.01)'].join('\n');

function procs(dir: string): number[] {
  try {
    return readFileSync(`${dir}/cgroup.procs`, 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return []; // removed with the container's cgroups
  }
}

for (const level of ['minimal', 'standard'] as const) {
  for (const how of ['kill', 'stop'] as const) {
    const why = missing(level === 'standard' ? { standard: true, cgroup: ['pids'] } : { cgroup: ['pids'] });
    describe.skipIf(!!why)(`${level}: ${how}`, () => {
      it(`a tree forking under --pids 48 is ${how === 'kill' ? 'killed' : 'stopped'} with no process left`, async () => {
        const marker = `c32-bomb-${level}-${how}-${process.pid}`;
        const name = `bomb-${level}-${how}`;
        const r = await cli(['run', '-d', '--isolation', level, '--pids', '48', '--name', name, 'host', 'python3', '-c', BOMB, marker]);
        expect(r.exitCode).toBe(0);
        const id = (await sb.inspect(name)).Id as string;
        const pidsDir = `${host.cgroup.controllers.pids}/codex32/${id}`;
        await until(() => procs(pidsDir).length >= 24, 60_000);
        if (host.cgroup.freezer) expect(existsSync(`${host.cgroup.freezer}/codex32/${id}/freezer.state`)).toBe(true);
        const done = await cli(how === 'kill' ? ['kill', name] : ['stop', '-t', '1', name]);
        expect(done.exitCode).toBe(0);
        await until(async () => (await sb.inspect(name)).State.Status === 'exited', 60_000);
        // nothing of it on the host, and its cgroups empty (or already removed)
        await until(() => pidsWith(marker).length === 0, 10_000).catch(() => undefined);
        expect(pidsWith(marker)).toEqual([]);
        expect(procs(pidsDir)).toEqual([]);
        if (host.cgroup.freezer) expect(procs(`${host.cgroup.freezer}/codex32/${id}`)).toEqual([]);
        // the main process takes the stop signal (143) or the kill (137); the rest are killed with it
        expect(how === 'kill' ? [137] : [137, 143]).toContain((await sb.inspect(name)).State.ExitCode);
        await cli(['rm', name]);
      });
    });
  }
}
