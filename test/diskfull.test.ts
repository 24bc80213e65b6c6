// A container whose supervisor records its end on a full storage directory: the records are never left
// empty or torn, and every command then says STATE_UNAVAILABLE with what to free, or works; once space
// is back the container reads as exited, not as a lost supervisor.
import { execa } from 'execa';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { host, pidsWith, sandbox, until } from './helpers.js';

const dir = join('/tmp', `c32-diskfull-${process.pid}`);
const canMount = process.getuid?.() === 0 || process.env.CI === 'true';
const level = host.levels.standard.supported ? 'standard' : 'minimal';
const STACK = /\n\s+at .+:\d+/;

describe.skipIf(!canMount)(`a supervisor that records its end on a full disk${canMount ? '' : ' (skipped: mounting a tmpfs needs root)'}`, () => {
  const sb = sandbox('c32-diskfull-');
  const cli = (args: string[]) => sb.cli(args, { env: { ...sb.env, CONTAINER_STORAGE_DIR: dir } });
  afterAll(async () => {
    rmSync(join(dir, 'filler'), { force: true });
    const ids = String((await cli(['ps', '-aq'])).stdout).split('\n').filter(Boolean);
    if (ids.length) await cli(['rm', '-f', ...ids]);
    await execa('umount', ['-l', dir], { reject: false });
    rmSync(dir, { recursive: true, force: true });
    rmSync(sb.storage, { recursive: true, force: true });
  });

  it('ps -a, stop, start, logs and rm -f say STATE_UNAVAILABLE naming the directory, or work; nothing torn', async () => {
    mkdirSync(dir, { recursive: true });
    const m = await execa('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dir], { reject: false });
    expect(m.exitCode, String(m.stderr)).toBe(0);
    expect((await cli(['create', '--name', 'idle', '--isolation', level, 'host', 'true'])).exitCode).toBe(0);
    const r = await cli(['run', '-d', '--name', 'ends', '--isolation', level, 'host', 'sh', '-c', 'echo up; exec sleep 300']);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const id = String(r.stdout).trim();
    const pid = (JSON.parse(String((await cli(['inspect', 'ends'])).stdout)) as Array<{ State: { Pid: number } }>)[0]!.State.Pid;
    expect(pid).toBeGreaterThan(0);
    // no room at all, then the container's command ends: its supervisor records that on the full disk
    await execa('dd', ['if=/dev/zero', `of=${dir}/filler`, 'bs=4k'], { reject: false });
    process.kill(pid, 'SIGKILL');
    // a process listed a moment ago may be gone when its cmdline is read: that one is no supervisor left
    const shim = (p: number) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('codex32-shim');
      } catch {
        return false;
      }
    };
    await until(() => pidsWith(join(dir, 'containers', id)).filter(shim).length === 0, 60_000);
    const state = readFileSync(join(dir, 'containers', id, 'state'), 'utf8');
    expect(state).toMatch(/^exited \d+ \d+ \d+ \d+ \w+ \d+ \d+ *\n$/); // rewritten in place, never emptied
    for (const leave of [0, 160]) {
      if (leave) await execa('truncate', ['-s', `-${leave}K`, `${dir}/filler`]);
      for (const args of [['ps', '-a'], ['stop', 'ends'], ['start', 'idle'], ['logs', 'ends'], ['rm', '-f', 'idle']]) {
        const out = await cli(args);
        const what = `${args.join(' ')} with ${leave} KiB free`;
        expect(String(out.stderr), what).not.toMatch(STACK);
        expect(String(out.stderr), what).not.toContain('unexpected error');
        if (out.exitCode === 0) continue;
        expect(out.exitCode, what).toBe(125);
        expect(String(out.stderr), what).toContain('[STATE_UNAVAILABLE]');
        expect(String(out.stderr), what).toContain(`the file system holding ${dir} is`);
        expect(String(out.stderr), what).toContain('codex32 prune');
      }
    }
    rmSync(join(dir, 'filler'));
    const ends = (await sb.json<Array<{ Name: string; Status: string }>>(['--storage', dir, 'ps', '-a', '--json'])).find((c) => c.Name === 'ends');
    expect(ends?.Status).toBe('exited');
    expect((await cli(['system', 'check'])).exitCode).toBe(0);
  });
});
