// The library's exec as an app builder uses it: exact output, stdin, timeout, AbortSignal, user, env, workdir, detach, streams.
import { readFileSync, readdirSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContainerEngine } from '../src/index.js';
import { missing, pidsWith, sandbox, until } from './helpers.js';

const sb = sandbox();
const engine = new ContainerEngine({ storageDir: sb.storage, isolation: 'standard' });
afterAll(async () => {
  engine.close();
  await sb.clean();
});

/** Every live command line on the host, joined (to prove a value never appears on one). */
function allCommandLines(): string {
  let all = '';
  for (const p of readdirSync('/proc').filter((d) => /^\d+$/.test(d)))
    try {
      all += readFileSync(`/proc/${p}/cmdline`, 'latin1') + '\n';
    } catch {
      /* gone */
    }
  return all;
}

const skipStd = missing({ standard: true });
describe.skipIf(!!skipStd)(`exec through the library${skipStd ? ` (skipped: ${skipStd})` : ''}`, () => {
  const name = 'libexec';
  beforeAll(async () => {
    const c = await engine.create({ name, image: 'host', command: ['sleep', '300'] });
    await c.start();
  });

  it('returns output exactly: every final newline as a string, raw bytes as a buffer', async () => {
    const r = await engine.exec(name, ['printf', 'a\\n\\n\\n']);
    expect(r).toMatchObject({ exitCode: 0, stdout: 'a\n\n\n', stderr: '', timedOut: false, aborted: false });
    const b = await engine.exec(name, ['sh', '-c', "printf '\\000\\377\\n'; printf 'e\\n' >&2; exit 4"], { encoding: 'buffer' });
    expect(b.exitCode).toBe(4);
    expect([...b.stdout]).toEqual([0, 255, 10]);
    expect(b.stderr.toString()).toBe('e\n');
  });

  it('feeds stdin from a string, a buffer and a stream', async () => {
    expect((await engine.exec(name, ['cat'], { stdin: 'from a string\n' })).stdout).toBe('from a string\n');
    expect([...(await engine.exec(name, ['cat'], { stdin: Buffer.from([1, 2, 0, 3]), encoding: 'buffer' })).stdout]).toEqual([1, 2, 0, 3]);
    const s = new PassThrough();
    const pending = engine.exec(name, ['wc', '-c'], { stdin: s });
    for (let i = 0; i < 100; i++) s.write('x'.repeat(1000));
    s.end();
    expect((await pending).stdout.trim()).toBe('100000');
    // no stdin given: the command reads end of file at once, never hangs
    expect((await engine.exec(name, ['cat'])).stdout).toBe('');
  });

  it('passes env and workdir, and the env never appears on a command line', async () => {
    const pending = engine.exec(name, ['sh', '-c', 'echo "$TOKEN"; pwd; sleep 1'], { env: { TOKEN: 'tk-31f9c0' }, workdir: '/tmp' });
    await until(() => pidsWith('sleep 1').length > 0 || undefined, 10_000, 20).catch(() => undefined);
    expect(allCommandLines()).not.toContain('tk-31f9c0');
    expect((await pending).stdout).toBe('tk-31f9c0\n/tmp\n');
  });

  it('stops a command at its timeout: SIGTERM, then SIGKILL for one that ignores it, nothing left behind', async () => {
    const polite = await engine.exec(name, ['sleep', '60'], { timeout: 200 });
    expect(polite).toMatchObject({ timedOut: true, exitCode: 143 });
    const stubborn = await engine.exec(name, ['sh', '-c', 'trap "" TERM; echo armed; while :; do sleep 0.1; done'], { timeout: 500, killGraceMs: 300 });
    expect(stubborn).toMatchObject({ timedOut: true, exitCode: 137, stdout: 'armed\n' });
    await until(async () => !(await engine.exec(name, ['sh', '-c', 'ps -o args 2>/dev/null || ls /proc'])).stdout.includes('while'), 10_000, 100);
  });

  it('a timeout ends the whole exec, background children too, and returns though one held its output', async () => {
    const r = await engine.exec(name, ['sh', '-c', 'sleep 1002 & sleep 1003'], { timeout: 1000, killGraceMs: 500 });
    expect(r.timedOut).toBe(true);
    await until(async () => !/sleep 100[23]/.test((await engine.exec(name, ['ps', '-o', 'args'])).stdout), 10_000, 100);
    // one that leaves its process group holds the pipe for ever: the call still returns
    const escaped = await engine.exec(name, ['sh', '-c', 'setsid sleep 1004 & sleep 1005'], { timeout: 500, killGraceMs: 300 });
    expect(escaped.timedOut).toBe(true);
    await engine.exec(name, ['pkill', '-f', 'sleep 1004']);
  });

  it('stops a command when its AbortSignal fires', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 200);
    const r = await engine.exec(name, ['sleep', '60'], { signal: ac.signal });
    expect(r).toMatchObject({ aborted: true, timedOut: false, exitCode: 143 });
  });

  it('detaches: returns at once while the command runs on', async () => {
    const d = await engine.exec(name, ['sh', '-c', 'sleep 0.3; echo done > /tmp/detached'], { detach: true });
    expect(d.pid).toBeGreaterThan(0);
    await until(async () => (await engine.exec(name, ['cat', '/tmp/detached'])).stdout === 'done\n', 10_000, 100);
  });

  it('streams: stdin, stdout and stderr as streams and the exit code as a promise', async () => {
    const p = engine.execStream(name, ['sh', '-c', 'cat; echo err >&2; exit 5']);
    let out = '';
    let err = '';
    p.stdout!.on('data', (c: Buffer) => (out += c));
    p.stderr!.on('data', (c: Buffer) => (err += c));
    p.stdin!.write('line one\n');
    p.stdin!.end('line two\n');
    expect(await p.exitCode).toBe(5);
    expect(out).toBe('line one\nline two\n');
    expect(err).toBe('err\n');
  });

  it('gives a streamed command a terminal of its own with tty, and resizes it', async () => {
    const p = engine.execStream(name, ['sh'], { tty: true });
    const out: Buffer[] = [];
    p.stdout!.on('data', (d: Buffer) => out.push(d));
    p.resize(33, 111);
    p.stdin!.write('tty; stty size\n');
    const text = await until(() => {
      const t = Buffer.concat(out).toString();
      return /\/dev\/pts\/\d+/.test(t) && /33 111/.test(t) && t;
    }, 20_000);
    expect(text).toMatch(/\/dev\/pts\/\d+\r\n/); // one stream of raw terminal bytes (CR LF), as docker's -t
    p.resize(40, 120);
    p.stdin!.write('stty size; exit 5\n');
    expect(await p.exitCode).toBe(5);
    expect(Buffer.concat(out).toString()).toMatch(/40 120/);
  });

  it('resolves a user by name in the container\'s /etc/passwd, and refuses one it does not have or a malformed one', async () => {
    expect((await engine.exec(name, ['id', '-un'], { user: 'nobody' })).stdout).toBe('nobody\n');
    await expect(engine.exec(name, ['id'], { user: 'ghost' })).rejects.toMatchObject({ code: 'INVALID_CONFIG', message: 'unable to find user ghost: no matching entries in passwd file' });
    await expect(engine.exec(name, ['id'], { user: 'a:b:c' })).rejects.toMatchObject({ code: 'INVALID_CONFIG', message: expect.stringMatching(/^Expected `exec user` as NAME, UID, NAME:GROUP or UID:GID/) });
  });
});

for (const level of ['minimal', 'standard', 'strict'] as const) {
  const skip = missing({ standard: level !== 'minimal', strict: level === 'strict' });
  it.skipIf(!!skip)(`exec -u 1000:1000 at ${level} runs as those ids${skip ? ` (skipped: ${skip})` : ''}`, async () => {
    const c = await engine.create({ name: `user-${level}`, image: 'host', isolation: level, command: ['sleep', '300'] });
    await c.start();
    // at minimal the container's own directory is closed to other users: a workdir is needed, and asked for
    const wd = level === 'minimal' ? { workdir: '/tmp' } : {};
    if (level === 'minimal')
      await expect(engine.exec(c.id, ['id'], { user: '1000:1000' })).rejects.toMatchObject({ code: 'INVALID_CONFIG', message: expect.stringMatching(/^Expected a workdir with an exec user/) });
    const r = await engine.exec(c.id, ['sh', '-c', 'id -u; id -g'], { user: '1000:1000', ...wd });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('1000\n1000\n');
    expect((await engine.exec(c.id, ['id', '-u'], { user: { uid: 1001, gid: 1001 }, ...wd })).stdout).toBe('1001\n');
    await c.remove(true);
  });
}
