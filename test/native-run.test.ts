// The native `run` (native/cli/run.c) creates, starts, follows and removes exactly the container the Node
// CLI would, from the recipe Node writes (src/engine/recipe.ts), and hands every other run to Node.
import Database from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import { execa } from 'execa';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContainerEngine } from '../src/engine/engine.js';
import { RECIPE_VERSION, readRecipe } from '../src/engine/recipe.js';
import { BIN, ROOT, host, missing, nativeSandbox, until } from './helpers.js';

const NATIVE = join(ROOT, 'build', 'codex32-cli');
const why = missing({ standard: true, cgroup: ['memory', 'pids'] }) ?? (existsSync(NATIVE) || process.env.CI === 'true' ? undefined : 'build/codex32-cli is not built (make build)');
const STD = ['--isolation', 'standard', '--network', 'host'];

describe.skipIf(why)('native run', () => {
  const { sb, noNode, direct: cli, native, clean } = nativeSandbox('c32-nrun-');
  const db = () => new Database(join(sb.storage, 'state.db'), { readonly: true });
  const events = (name: string) => {
    const d = db();
    const rows = d.prepare('SELECT type, attrs FROM events WHERE name = ? ORDER BY id').all(name) as Array<{ type: string; attrs: string }>;
    d.close();
    return rows.map((r) => ({ type: r.type, attrs: JSON.parse(r.attrs) as Record<string, unknown> }));
  };
  // what is the container's own: its id, name, times, pids and the boot's clock ticks
  const norm = (s: string, ...subjects: Array<{ id: string; name: string }>) => {
    for (const x of subjects) s = s.replaceAll(x.id, 'ID').replaceAll(x.name, 'NAME').replaceAll(x.id.slice(0, 11), 'NETID');
    return s.replace(/10\.89\.\d+\.\d+/g, 'ADDR').replace(/"(pid|start|startedAt|createdAt|Pid|StartedAt|Created|FinishedAt|finishedAt)":("[^"]*"|\d+)/g, '"$1":"X"');
  };

  beforeAll(async () => {
    // the first run of each option set goes to Node, which writes its recipe
    for (const opts of [STD, ['--isolation', 'minimal'], ['--isolation', 'standard'], ...(host.levels.strict.supported ? [['--isolation', 'strict']] : [])]) expect((await cli(['run', '--rm', ...opts, 'host', 'true'])).exitCode).toBe(0);
  }, 120_000);
  afterAll(clean);

  it('reads the recipe format the Node side writes', () => {
    const header = readFileSync(join(ROOT, 'native', 'cli', 'recipe.h'), 'utf8');
    expect(Number(/#define CODEX32_RECIPE_VERSION (\d+)/.exec(header)?.[1])).toBe(RECIPE_VERSION);
    expect(readRecipe(sb.storage, 'run-standard-host')?.[0]).toBe(`recipe=${RECIPE_VERSION}`);
  });

  it.each([['standard', STD], ['minimal', ['--isolation', 'minimal']], ...(host.levels.strict.supported ? [['strict', ['--isolation', 'strict']] as [string, string[]]] : [])])('run --rm at %s streams both outputs, exits with the code and leaves nothing, without Node', async (_level, opts) => {
    const r = await native(['run', '--rm', '--name', `out-${_level}`, ...opts, 'host', 'sh', '-c', 'echo out; echo "two words" >&2; printf partial; exit 3']);
    expect(r.stderr).toBe('two words\n');
    expect(r.stdout).toBe('out\npartial');
    expect(r.exitCode).toBe(3);
    expect(readdirSync(join(sb.storage, 'containers'))).toEqual([]);
    const d = db();
    expect(d.prepare('SELECT count(*) AS n FROM containers').get()).toEqual({ n: 0 });
    d.close();
    expect(events(`out-${_level}`).map((e) => e.type)).toEqual(['create', 'start', 'die', 'remove']);
    expect(events(`out-${_level}`)[2]!.attrs).toEqual({ exitCode: 3, signal: 0, reason: 'failed', run: 1 });
    const d2 = db();
    const { container_id: id } = d2.prepare('SELECT container_id FROM events WHERE name = ?').get(`out-${_level}`) as { container_id: string };
    d2.close();
    for (const ctl of ['memory', 'pids'] as const) expect(existsSync(join(host.cgroup.controllers[ctl]!, 'codex32', id))).toBe(false);
  });

  const levels: Array<[string, string[]]> = [['the host network', STD], ['a private network', ['--isolation', 'standard']]];
  if (host.levels.strict.supported) levels.push(['strict, no network', ['--isolation', 'strict']]);
  it.each(levels)('run -d on %s creates the row, files and spec Node creates for the same command', async (net, opts) => {
    const [nat, nod] = [`zq-native-${net.length}`, `zq-node-${net.length}`];
    const cmd = ['sh', '-c', 'echo "tab\there" ü; sleep 300'];
    const n = await native(['run', '-d', '--name', nat, ...opts, 'host', ...cmd]);
    expect(n.exitCode).toBe(0);
    const o = await cli(['run', '-d', '--name', nod, ...opts, 'host', ...cmd], { CODEX32_NATIVE: '0' });
    expect(o.exitCode).toBe(0);
    const a = { id: n.stdout.trim(), name: nat };
    const b = { id: o.stdout.trim(), name: nod };
    expect(a.id).toMatch(/^[0-9a-f]{64}$/);
    const d = db();
    const row = (x: { id: string }) => d.prepare('SELECT status, config, state FROM containers WHERE id = ?').get(x.id) as { status: string; config: string; state: string };
    const [ra, rb] = [row(a), row(b)];
    d.close();
    expect(ra.status).toBe('running');
    expect(JSON.parse(norm(ra.config, a))).toEqual(JSON.parse(norm(rb.config, b)));
    expect(JSON.parse(norm(ra.state, a))).toEqual(JSON.parse(norm(rb.state, b)));
    const dir = (x: { id: string }) => join(sb.storage, 'containers', x.id);
    const spec = (x: { id: string; name: string }) => norm(readFileSync(join(dir(x), 'spec'), 'utf8'), x);
    expect(spec(a)).toBe(spec(b));
    expect(norm(readFileSync(join(dir(a), 'config.json'), 'utf8'), a)).toBe(norm(readFileSync(join(dir(b), 'config.json'), 'utf8'), b));
    expect(readFileSync(join(dir(a), 'etc', 'hostname'), 'utf8')).toBe(`${nat}\n`);
    const files = (x: { id: string }) => readdirSync(join(dir(x), 'etc')).sort();
    expect(files(a)).toEqual(files(b));
    for (const f of files(a)) expect(norm(readFileSync(join(dir(a), 'etc', f), 'utf8'), a)).toBe(norm(readFileSync(join(dir(b), 'etc', f), 'utf8'), b));
    const modes = (x: { id: string }) =>
      ['.', 'app', 'etc', 'root', 'config.json', 'spec', ...files(x).map((f) => `etc/${f}`)].map((f) => {
        const st = statSync(join(dir(x), f));
        return `${f} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`;
      });
    expect(modes(a)).toEqual(modes(b));
    expect(events(nat)).toEqual(events(nod));
    // the rest of its life is the engine's as usual: logs, inspect and stop through Node
    await until(async () => String((await sb.cli(['logs', nat])).stdout).includes('tab\there ü'));
    const ia = norm(JSON.stringify(await sb.inspect(nat)), a);
    const ib = norm(JSON.stringify(await sb.inspect(nod)), b);
    expect(ia).toBe(ib);
    expect((await sb.cli(['rm', '-f', nat, nod])).exitCode).toBe(0);
    expect(existsSync(`/run/netns/c32-${a.id.slice(0, 11)}`)).toBe(false);
  });

  it('run --rm on a private network gives the container its own address and takes it all down after', async () => {
    const r = await native(['run', '--rm', '--name', 'priv', '--isolation', 'standard', 'host', 'sh', '-c', 'ip -4 -o addr show eth0; tail -1 /etc/hosts']);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    const address = /inet (10\.89\.\d+\.\d+)\/32/.exec(r.stdout)?.[1];
    expect(address).toBeDefined();
    expect(r.stdout).toContain(`${address}\tpriv\n`);
    const d = db();
    const { container_id: id } = d.prepare('SELECT container_id FROM events WHERE name = ?').get('priv') as { container_id: string };
    d.close();
    expect(existsSync(`/run/netns/c32-${id.slice(0, 11)}`)).toBe(false);
    expect(existsSync(`/sys/class/net/c32-${id.slice(0, 11)}`)).toBe(false);
    expect(existsSync(`/run/codex32/net/ip/${address}`)).toBe(false);
    expect(existsSync(`/run/codex32/net/c32-${id.slice(0, 11)}`)).toBe(false);
  });

  it('a foreground run without --rm records the exit as Node does and keeps the container', async () => {
    const cmd = ['sh', '-c', 'echo kept; exit 3'];
    const n = await native(['run', '--name', 'kept-n', ...STD, 'host', ...cmd]);
    const o = await cli(['run', '--name', 'kept-j', ...STD, 'host', ...cmd], { CODEX32_NATIVE: '0' });
    expect([n.exitCode, n.stdout, n.stderr]).toEqual([3, 'kept\n', '']);
    expect([o.exitCode, o.stdout, o.stderr]).toEqual([3, 'kept\n', '']);
    const d = db();
    const row = (name: string) => d.prepare('SELECT id, status, config, state FROM containers WHERE name = ?').get(name) as { id: string; status: string; config: string; state: string };
    const runs = (id: string) => d.prepare('SELECT run, exit_code, signal, oom, reason FROM runs WHERE container_id = ?').all(id);
    const [rn, ro] = [row('kept-n'), row('kept-j')];
    expect(rn.status).toBe('exited');
    expect(JSON.parse(norm(rn.state, { id: rn.id, name: 'kept-n' }))).toEqual(JSON.parse(norm(ro.state, { id: ro.id, name: 'kept-j' })));
    expect(runs(rn.id)).toEqual(runs(ro.id));
    d.close();
    expect(events('kept-n')).toEqual(events('kept-j'));
    const ia = norm(JSON.stringify(await sb.inspect('kept-n')), { id: rn.id, name: 'kept-n' });
    expect(ia).toBe(norm(JSON.stringify(await sb.inspect('kept-j')), { id: ro.id, name: 'kept-j' }));
    expect((await sb.cli(['rm', 'kept-n', 'kept-j'])).exitCode).toBe(0);
  });

  it('a command that cannot start fails as with Node, and --rm removes it', async () => {
    const n = await native(['run', '--rm', '--name', 'gone1', ...STD, 'host', 'no-such-command-x']);
    const o = await cli(['run', '--rm', '--name', 'gone2', ...STD, 'host', 'no-such-command-x'], { CODEX32_NATIVE: '0' });
    expect(o.exitCode).toBe(127);
    expect(n.exitCode).toBe(127);
    expect(n.stderr.replace('gone1', 'X')).toBe(o.stderr.replace('gone2', 'X'));
    expect(events('gone1')).toEqual(events('gone2'));
    expect((await sb.cli(['ps', '-aq'])).stdout).toBe('');
  });

  it('a private network that cannot be set up is reported as Node reports it, and nothing of it stays', async () => {
    // an `ip` that refuses, first on the PATH of the set-up script
    const bad = mkdtempSync(join(tmpdir(), 'c32-noip-'));
    writeFileSync(join(bad, 'ip'), '#!/bin/sh\necho "ip says no" >&2\nexit 1\n', { mode: 0o755 });
    try {
      const opts = ['--isolation', 'standard', 'host', 'true'];
      const n = await cli(['run', '--rm', '--name', 'noip1', ...opts], { PATH: `${bad}:${noNode.path}` });
      const o = await cli(['run', '--rm', '--name', 'noip2', ...opts], { PATH: `${bad}:${process.env.PATH}`, CODEX32_NATIVE: '0' });
      expect(o.exitCode).toBe(125);
      expect(n.exitCode).toBe(125);
      const words = (r: { stderr: string }, name: string) => r.stderr.replace(name, 'X').replace(/c32-[0-9a-f]{11}/g, 'NET');
      expect(words(n, 'noip1')).toBe(words(o, 'noip2'));
      expect(n.stderr).toContain('Cannot set up the private network (ip netns add c32-');
      expect(n.stderr).toContain('ip says no');
      expect(events('noip1')).toEqual(events('noip2'));
      expect((await sb.cli(['ps', '-aq'])).stdout).toBe('');
      const d = db();
      const { container_id: id } = d.prepare('SELECT container_id FROM events WHERE name = ?').get('noip1') as { container_id: string };
      d.close();
      expect(existsSync(`/run/codex32/net/c32-${id.slice(0, 11)}`)).toBe(false);
      // -d keeps the container, created, as Node's start leaves it
      const kept = await cli(['run', '-d', '--name', 'noip3', ...opts], { PATH: `${bad}:${noNode.path}` });
      expect(kept.exitCode).toBe(125);
      expect((await sb.inspect('noip3'))?.State?.Status).toBe('created');
      expect((await sb.cli(['rm', 'noip3'])).exitCode).toBe(0);
    } finally {
      rmSync(bad, { recursive: true, force: true });
    }
  });

  it.each([['native', true], ['Node', false]])('through %s, run --rm whose reader goes away (| head) stops its command with SIGPIPE and removes it', async (_side, isNative) => {
    const name = `piped-${isNative ? 'n' : 'j'}`;
    const env = { ...sb.env, ...(isNative ? { PATH: noNode.path } : { CODEX32_NATIVE: '0' }) };
    const r = await execa('sh', ['-c', `"$0" run --rm --name ${name} ${STD.join(' ')} host sh -c 'while :; do echo y; done' | head -2`, BIN], { reject: false, env, timeout: 30_000 });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe('y\ny');
    await until(() => events(name).some((e) => e.type === 'remove'));
    expect(events(name).map((e) => e.type)).toEqual(['create', 'start', 'kill', 'die', 'remove']);
    expect(events(name)[2]!.attrs).toEqual({ signal: 13 });
  });

  it('SIGTERM to a foreground run stops the container, records the kill and removes it', async () => {
    const p = execa(BIN, ['run', '--rm', '--name', 'sig', ...STD, 'host', 'sh', '-c', 'echo up; exec sleep 300'], {
      reject: false,
      env: { ...sb.env, PATH: noNode.path },
    });
    await until(() => events('sig').some((e) => e.type === 'start'));
    await until(async () => String((await sb.cli(['logs', 'sig'])).stdout).includes('up'));
    p.kill('SIGTERM');
    const r = await p;
    expect(r.exitCode).toBe(143);
    expect(r.stdout).toBe('up');
    expect(events('sig').map((e) => e.type)).toEqual(['create', 'start', 'kill', 'die', 'remove']);
    expect(existsSync(join(sb.storage, 'containers'))).toBe(true);
    expect(readdirSync(join(sb.storage, 'containers'))).toEqual([]);
  }, 60_000);

  it('hands the run to Node when the recipe no longer holds, when a name is taken, or for options it does not carry out', async () => {
    // the settings changed: the recipe names CONTAINER_ISOLATION_LEVEL's value
    expect((await cli(['run', '--rm', ...STD, 'host', 'true'], { PATH: noNode.path, CONTAINER_ISOLATION_LEVEL: 'minimal' })).exitCode).toBe(97);
    // the supervisor binary changed since the recipe was written
    const shim = join(ROOT, 'build', 'codex32-shim');
    const times = join(sb.storage, 'shim-times');
    // touch -r keeps the times to the nanosecond: a Date round trip can land a millisecond off the recipe's
    execFileSync('touch', ['-r', shim, times]);
    const st = statSync(shim);
    utimesSync(shim, st.atime, new Date(st.mtimeMs + 1000));
    try {
      expect((await native(['run', '--rm', ...STD, 'host', 'true'])).exitCode).toBe(97);
    } finally {
      execFileSync('touch', ['-r', times, shim]);
    }
    expect((await native(['run', '--rm', ...STD, 'host', 'true'])).exitCode).toBe(0);
    // a taken name: nothing of the native attempt stays, and Node says what to do
    expect((await sb.cli(['run', '-d', '--name', 'taken', ...STD, 'host', 'sleep', '300'])).exitCode).toBe(0);
    const before = readdirSync(join(sb.storage, 'containers')).length;
    expect((await native(['run', '--rm', '--name', 'taken', ...STD, 'host', 'true'])).exitCode).toBe(97);
    expect(readdirSync(join(sb.storage, 'containers')).length).toBe(before);
    const taken = await cli(['run', '--rm', '--name', 'taken', ...STD, 'host', 'true']);
    expect(taken.exitCode).toBe(125);
    expect(taken.stderr).toContain('[NAME_IN_USE]');
    // options outside the native set, -d --rm (its supervisor's exit command is Node's to plan), a terminal
    for (const args of [['--rm', '--memory', '64m', ...STD], ['-d', '--rm', ...STD], ['--rm', '-e', 'A=1', ...STD], ['-it', ...STD]])
      expect((await native(['run', ...args, 'host', 'true'])).exitCode).toBe(97);
    // a missing recipe is asked for (the fake node prints CODEX32_RECIPE); one that resolved to what only Node
    // carries out (here a memory limit) says node=1, and no recipe is asked for again
    expect((await native(['run', '--rm', '--isolation', 'minimal', '--network', 'host', 'host', 'true'])).stderr).toBe('run-minimal-host\n');
    const started = String((await sb.cli(['run', '-d', '--isolation', 'minimal', 'host', 'sleep', '300'])).stdout).trim();
    // written in this process with the settings the CLI runs with, which the recipe records
    const saved = process.env.CONTAINER_ISOLATION_LEVEL;
    process.env.CONTAINER_ISOLATION_LEVEL = sb.env.CONTAINER_ISOLATION_LEVEL;
    const engine = new ContainerEngine({ storageDir: sb.storage });
    const bundle = join(ROOT, 'dist', 'codex32.cjs');
    try {
      expect(await engine.saveRunRecipe({ image: 'host', command: ['true'], isolation: 'minimal', network: 'host', limits: { memory: 64 << 20 } }, started, 'run-minimal-host', [bundle])).toBe(false);
    } finally {
      engine.close();
      if (saved === undefined) delete process.env.CONTAINER_ISOLATION_LEVEL;
      else process.env.CONTAINER_ISOLATION_LEVEL = saved;
    }
    expect(readRecipe(sb.storage, 'run-minimal-host')).toContain('node=1');
    const handed = await native(['run', '--rm', '--isolation', 'minimal', '--network', 'host', 'host', 'true']);
    expect([handed.exitCode, handed.stderr]).toEqual([97, '']);
    expect((await sb.cli(['rm', '-f', started])).exitCode).toBe(0);
    expect((await sb.cli(['rm', '-f', 'taken'])).exitCode).toBe(0);
  }, 120_000);
});
