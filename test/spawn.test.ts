// Commands started through the launcher (src/runtime/spawn.ts) rather than forked from this process: the
// same output, exit codes, errors and signals as a direct spawn; the launcher as their parent; the
// launcher's end with the last engine closed, with its process gone, and a spawn it never made.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { ContainerEngine } from '../src/engine/engine.js';
import { runCommand, runFile } from '../src/runtime/command.js';
import { useLauncher } from '../src/runtime/launcher.js';
import { spawnProcess, type SpawnedProcess } from '../src/runtime/spawn.js';
import { until } from './helpers.js';

const storage = mkdtempSync(join(tmpdir(), 'c32-spawn-'));
afterAll(() => {
  useLauncher(true);
  rmSync(storage, { recursive: true, force: true });
});

const ppid = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
const cmdline = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
const spawned = (c: SpawnedProcess) => new Promise<number>((resolve, reject) => (c.once('spawn', () => resolve(c.pid!)), c.once('error', reject)));
const closed = (c: SpawnedProcess) => new Promise<[number | null, string | null]>((resolve) => c.once('close', (code: number | null, sig: string | null) => resolve([code, sig])));

/** What each kind of call gives, the same whether the launcher or this process spawned it. */
async function behaviour() {
  const script = 'printf "%s|" "$@"; cat; echo e >&2; exit 3';
  const ran = await runCommand('sh', ['-c', script, 'sh', 'a b', '', 'c\nd', '%41', 'é'], 'in\n');
  const missing = await runCommand('c32-no-such-command', []).catch((e: NodeJS.ErrnoException) => ({ code: e.code, message: e.message, syscall: e.syscall }));
  const failed = await runFile('sh', ['-c', 'echo out; echo why >&2; exit 2']).catch((e: Error & object) => ({ ...e, message: e.message }));
  const env = await runFile('sh', ['-c', 'echo "$C32_X"'], { env: { PATH: process.env.PATH, C32_X: 'a b\nc' } });
  const overflow = await runFile('head', ['-c', '2000', '/dev/zero'], { maxBuffer: 1000 }).catch((e: Error & { code?: string }) => e.code);
  const sleeper = spawnProcess('sleep', ['30'], { stdio: ['ignore', 'pipe', 'pipe'] });
  await spawned(sleeper);
  sleeper.kill('SIGTERM');
  const killed = await closed(sleeper);
  const unread = await closed(spawnProcess('sh', ['-c', 'echo never read; echo nor this >&2'], { stdio: ['ignore', 'pipe', 'pipe'] }));
  return { ran, missing, failed, env, overflow, killed, unread };
}

describe('commands through the launcher', () => {
  it('behave as when spawned here: output, arguments of any bytes, exit codes, errors, signals, environment', async () => {
    useLauncher(false);
    const direct = await behaviour();
    useLauncher(true);
    const launched = await behaviour();
    expect(launched).toEqual(direct);
    expect(launched.ran).toEqual({ code: 3, stdout: 'a b||c\nd|%41|é|in\n', stderr: 'e\n' });
    expect(launched.missing).toEqual({ code: 'ENOENT', message: 'spawn c32-no-such-command ENOENT', syscall: 'spawn c32-no-such-command' });
    expect(launched.failed).toMatchObject({ code: 2, stdout: 'out\n', stderr: 'why\n', message: 'Command failed: sh -c echo out; echo why >&2; exit 2\nwhy\n' });
    expect(launched.env.stdout).toBe('a b\nc\n');
    expect(launched.killed).toEqual([null, 'SIGTERM']);
    // and as Node's own execFile fails
    const node = await promisify(execFile)('sh', ['-c', 'echo out; echo why >&2; exit 2']).catch((e: Error & object) => ({ ...e, message: e.message }));
    expect(launched.failed).toEqual(node);
  });

  it('are children of the launcher, never forks of this process', async () => {
    useLauncher(true);
    const c = spawnProcess('sleep', ['30']);
    const pid = await spawned(c);
    const parent = ppid(pid);
    expect(parent).not.toBe(process.pid);
    expect(cmdline(parent)[1]).toBe('launcher');
    c.kill('SIGKILL');
    expect(await closed(c)).toEqual([null, 'SIGKILL']);
  });

  it('the launcher ends once the last engine is closed and the commands it runs have ended, their ends reported', async () => {
    useLauncher(true);
    const a = new ContainerEngine({ storageDir: join(storage, 'a') });
    const b = new ContainerEngine({ storageDir: join(storage, 'b') });
    const c = spawnProcess('sh', ['-c', 'sleep 1; echo done'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    c.stdout!.on('data', (d: Buffer) => (out += d));
    const launcher = ppid(await spawned(c));
    a.close();
    b.close();
    expect(existsSync(`/proc/${launcher}`)).toBe(true); // its command runs on
    expect(await closed(c)).toEqual([0, null]);
    expect(out).toBe('done\n');
    await until(() => !existsSync(`/proc/${launcher}`) || readFileSync(`/proc/${launcher}/stat`, 'utf8').split(') ')[1].startsWith('Z'), 10_000);
  });

  it('the launcher exits with the process that started it, though a command it runs lives on', async () => {
    const script = `import('${join(process.cwd(), 'dist', 'runtime', 'spawn.js')}').then(({ spawnProcess }) => {
      const c = spawnProcess('sleep', ['60']);
      c.on('spawn', () => console.log(c.pid));
    });`;
    expect(existsSync(join(process.cwd(), 'dist', 'runtime', 'spawn.js')), 'make build first').toBe(true);
    const host = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const sleeper = await new Promise<number>((resolve) => host.stdout.once('data', (d: Buffer) => resolve(Number(String(d).trim()))));
    const launcher = ppid(sleeper);
    expect(cmdline(launcher)[1]).toBe('launcher');
    host.kill('SIGKILL');
    await until(() => !existsSync(`/proc/${launcher}`), 10_000);
    expect(existsSync(`/proc/${sleeper}`)).toBe(true); // orphaned to init, as a direct child of a killed process is
    process.kill(sleeper, 'SIGKILL');
  });

  it('a command the launcher died before spawning is spawned here, its streams the ones given out', async () => {
    useLauncher(true);
    const first = spawnProcess('sleep', ['30']);
    const firstClosed = closed(first); // reported as soon as the launcher is gone, before the relayed one ends
    const launcher = ppid(await spawned(first));
    process.kill(launcher, 'SIGSTOP'); // the next request waits in its pipe, never read
    const c = spawnProcess('sh', ['-c', 'cat; exit 4'], { stdio: ['pipe', 'pipe', 'ignore'] });
    let out = '';
    c.stdout!.on('data', (d: Buffer) => (out += d));
    c.stdin!.end('relayed\n');
    process.kill(launcher, 'SIGKILL');
    expect(await closed(c)).toEqual([4, null]);
    expect(out).toBe('relayed\n');
    expect(await firstClosed).toEqual([null, 'SIGKILL']); // its end was never reported: counted as killed
    // a new launcher after (a command that lives long enough for its parent to be read)
    const next = spawnProcess('sleep', ['30']);
    expect(ppid(await spawned(next))).not.toBe(launcher);
    next.kill('SIGKILL');
    process.kill(first.pid!, 'SIGKILL'); // orphaned by the launcher
  });
});
