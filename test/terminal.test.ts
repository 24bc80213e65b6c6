// Interactive terminals, typed into through tmux as a person would: run -it, exec -it, resize,
// Ctrl-P Ctrl-Q and attach; and the pipe case of run -i.
import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, missing, sandbox, until } from './helpers.js';

const sb = sandbox();
const { cli } = sb;
const TMUX = ['-L', `c32-test-${process.pid}`]; // a private tmux server: other sessions are never touched
const tmux = (...args: string[]) => execa('tmux', [...TMUX, ...args], { reject: false });
afterAll(async () => {
  await tmux('kill-server');
  await sb.clean();
});

const hasTmux = (await execa('sh', ['-c', 'command -v tmux'], { reject: false })).exitCode === 0;
const skip = missing({ standard: true }) ?? (hasTmux || process.env.CI === 'true' ? undefined : 'tmux is not installed');

/** Start a tmux session of the given size running the CLI with args; the exit code is printed after it. */
async function session(name: string, args: string[], cols = 100, rows = 30): Promise<void> {
  const env = Object.entries(sb.env).map(([k, v]) => `${k}=${v}`).join(' ');
  const command = `env ${env} node ${BIN} ${args.join(' ')}; echo EXITED=$?; sleep 600`;
  const r = await tmux('new-session', '-d', '-s', name, '-x', String(cols), '-y', String(rows), command);
  expect(r.exitCode, String(r.stderr)).toBe(0);
}

const screen = async (name: string) => String((await tmux('capture-pane', '-p', '-t', name)).stdout);
/** Wait until the screen shows text (a regexp over the whole pane). */
const shows = (name: string, re: RegExp) => until(async () => re.test(await screen(name)), 30_000, 100);
const type = (name: string, ...keys: string[]) => tmux('send-keys', '-t', name, ...keys);

describe.skipIf(!!skip)(`interactive terminals${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('run -i pipes stdin; the container sees end of file; output, errors and the exit code come back', async () => {
    const r = await cli(['run', '--rm', '-i', 'host', 'cat'], { input: 'hi\n' });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe('hi');
    const data = randomBytes(3 << 20).toString('base64'); // 4 MiB through the attach socket and back
    const big = await cli(['run', '--rm', '-i', 'host', 'sh', '-c', 'cat; echo done >&2; exit 3'], { input: data, stripFinalNewline: false });
    expect(big.exitCode).toBe(3);
    expect(big.stdout === data).toBe(true);
    expect(big.stderr).toBe('done\n');
    // a command that ends before reading all its input still delivers its output, and run exits
    const early = await cli(['run', '--rm', '-i', 'host', 'head', '-2'], { input: 'y\n'.repeat(1 << 20) });
    expect(early.exitCode).toBe(0);
    expect(early.stdout).toBe('y\ny');
  });

  it('run -it: a shell typed into, its own terminal, the window size, resize, detach and attach', async () => {
    await session('run', ['run', '-it', '--name', 'tty1', 'host', 'sh']);
    await shows('run', /#/);
    await type('run', 'tty; stty size; echo hello $((6*7))', 'Enter');
    await shows('run', /\/dev\/pts\/0\s+30 100\s+hello 42/);
    await tmux('resize-window', '-t', 'run', '-x', '120', '-y', '40');
    // the new size reaches the container a moment after the window changes: wait for it inside, then say so
    await type('run', 'until [ "$(stty size)" = "40 120" ]; do sleep 0.1; done; echo resized-$((4*10))', 'Enter');
    await shows('run', /resized-40/);
    await type('run', 'C-p', 'C-q');
    await shows('run', /detached from tty1; it keeps running[\s\S]*EXITED=0/);
    expect((await sb.inspect('tty1')).State.Status).toBe('running');

    await session('att', ['attach', 'tty1'], 80, 24);
    await type('att', 'echo back $((2+3)); stty size', 'Enter'); // keys typed before attach connects wait in the terminal
    await shows('att', /back 5\s+24 80/);
    await type('att', 'exit 7', 'Enter');
    await shows('att', /EXITED=7/);
    expect((await sb.inspect('tty1')).State.ExitCode).toBe(7);
    // the log kept everything, attached or not
    const logs = String((await cli(['logs', 'tty1'])).stdout);
    expect(logs).toMatch(/hello 42/);
    expect(logs).toMatch(/back 5/);
    await cli(['rm', 'tty1']);
  });

  it('run -it --rm detached with Ctrl-P Ctrl-Q: the container is removed when it ends later', async () => {
    await session('rmd', ['run', '-it', '--rm', '--name', 'tty-rm', 'host', 'sh']);
    await shows('rmd', /#/);
    await type('rmd', 'sleep 5; exit 5', 'Enter');
    await type('rmd', 'C-p', 'C-q');
    await shows('rmd', /detached from tty-rm; it keeps running[\s\S]*EXITED=0/);
    const id = String((await cli(['inspect', '--format', '{{.Id}}', 'tty-rm'])).stdout).trim();
    expect(id).toMatch(/^[0-9a-f]{12,}$/);
    // nobody is attached when it ends: its own exit command, then any listing, find it gone
    await until(async () => !(await sb.json<Array<{ Name: string }>>(['ps', '-a', '--json'])).some((c) => c.Name === 'tty-rm'), 60_000, 200);
    await until(() => !existsSync(join(sb.storage, 'containers', id)), 60_000, 200);
  });

  it('exec -it: a shell in a running container, with its terminal, resize, Ctrl-C and the exit code', async () => {
    expect((await cli(['run', '-d', '--name', 'ex1', 'host', 'sleep', '600'])).exitCode).toBe(0);
    await session('ex', ['exec', '-it', 'ex1', 'sh'], 90, 25);
    await shows('ex', /#/);
    await type('ex', 'tty; stty size; echo in $((1+1))', 'Enter');
    await shows('ex', /\/dev\/pts\/\d+\s+25 90\s+in 2/);
    await tmux('resize-window', '-t', 'ex', '-x', '70', '-y', '20');
    await type('ex', 'until [ "$(stty size)" = "20 70" ]; do sleep 0.1; done; echo resized-$((2*10)); cat', 'Enter');
    await shows('ex', /resized-20/);
    await type('ex', 'C-c');
    await type('ex', 'exit 4', 'Enter');
    await shows('ex', /EXITED=4/);
    expect((await sb.inspect('ex1')).State.Status).toBe('running'); // the container is untouched
    await cli(['rm', '-f', 'ex1']);
  });

  it('refuses -it without a terminal, and attach to a container without -i or -t, leaving nothing behind', async () => {
    const before = String((await cli(['ps', '-aq'])).stdout);
    const r = await cli(['run', '-it', '--name', 'notty', 'host', 'sh'], { input: 'exit\n' });
    expect(r.exitCode).toBe(125);
    expect(r.stderr).toMatch(/Expected a terminal on stdin for -it, got a pipe or a file/);
    expect(String((await cli(['ps', '-aq'])).stdout)).toBe(before);
    await cli(['run', '-d', '--name', 'plain', 'host', 'sleep', '600']);
    const a = await cli(['attach', 'plain']);
    expect(a.exitCode).toBe(125);
    expect(a.stderr).toMatch(/created without -i or -t/);
    await cli(['rm', '-f', 'plain']);
  });
});
