// The native `run` (native/cli/run.c) creates, starts, follows and removes exactly the container the Node
// CLI would, from the recipe Node writes (src/engine/recipe.ts), and hands every other run to Node.
import Database from 'better-sqlite3';
import { execa } from 'execa';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RECIPE_VERSION, readRecipe } from '../src/engine/recipe.js';
import { BIN, ROOT, host, missing, sandbox, until } from './helpers.js';

const NATIVE = join(ROOT, 'build', 'codex32-cli');
const why = missing({ standard: true, cgroup: ['memory', 'pids'] }) ?? (existsSync(NATIVE) || process.env.CI === 'true' ? undefined : 'build/codex32-cli is not built (make build)');
const STD = ['--isolation', 'standard', '--network', 'host'];

describe.skipIf(why)('native run', () => {
  const sb = sandbox('c32-nrun-');
  // a `node` first on the PATH that fails loudly: a run that reaches Node exits 97
  const noNode = mkdtempSync(join(tmpdir(), 'c32-nonode-'));
  const cli = (args: string[], env: Record<string, string> = {}) =>
    execa(BIN, args, { reject: false, env: { ...sb.env, ...env }, stripFinalNewline: false, timeout: 60_000 });
  const native = (args: string[]) => cli(args, { PATH: `${noNode}:${process.env.PATH}` });
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
    writeFileSync(join(noNode, 'node'), '#!/bin/sh\nexit 97\n');
    chmodSync(join(noNode, 'node'), 0o755);
    // the first run of each option set goes to Node, which writes its recipe
    for (const opts of [STD, ['--isolation', 'minimal'], ['--isolation', 'standard']]) expect((await cli(['run', '--rm', ...opts, 'host', 'true'])).exitCode).toBe(0);
  }, 120_000);
  afterAll(async () => {
    await sb.clean();
    rmSync(noNode, { recursive: true, force: true });
  });

  it('reads the recipe format the Node side writes', () => {
    const header = readFileSync(join(ROOT, 'native', 'cli', 'recipe.h'), 'utf8');
    expect(Number(/#define CODEX32_RECIPE_VERSION (\d+)/.exec(header)?.[1])).toBe(RECIPE_VERSION);
    expect(readRecipe(sb.storage, 'run-standard-host')?.[0]).toBe(`recipe=${RECIPE_VERSION}`);
  });

  it.each([['standard', STD], ['minimal', ['--isolation', 'minimal']]])('run --rm at %s streams both outputs, exits with the code and leaves nothing, without Node', async (_level, opts) => {
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

  it.each([['the host network', STD], ['a private network', ['--isolation', 'standard']]])('run -d on %s creates the row, files and spec Node creates for the same command', async (net, opts) => {
    const [nat, nod] = net.includes('host') ? ['zq-native', 'zq-node'] : ['zq-native-p', 'zq-node-p'];
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
      ['.', 'app', 'etc', 'root', 'config.json', 'spec', ...files(x).map((f) => `etc/${f}`)].map((f) => `${f} ${(statSync(join(dir(x), f)).mode & 0o7777).toString(8)}`);
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

  it('a command that cannot start fails as with Node, and --rm removes it', async () => {
    const n = await native(['run', '--rm', '--name', 'gone1', ...STD, 'host', 'no-such-command-x']);
    const o = await cli(['run', '--rm', '--name', 'gone2', ...STD, 'host', 'no-such-command-x'], { CODEX32_NATIVE: '0' });
    expect(o.exitCode).toBe(127);
    expect(n.exitCode).toBe(127);
    expect(n.stderr.replace('gone1', 'X')).toBe(o.stderr.replace('gone2', 'X'));
    expect(events('gone1')).toEqual(events('gone2'));
    expect((await sb.cli(['ps', '-aq'])).stdout).toBe('');
  });

  it('SIGTERM to a foreground run stops the container, records the kill and removes it', async () => {
    const p = execa(BIN, ['run', '--rm', '--name', 'sig', ...STD, 'host', 'sh', '-c', 'echo up; exec sleep 300'], {
      reject: false,
      env: { ...sb.env, PATH: `${noNode}:${process.env.PATH}` },
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
    expect((await cli(['run', '--rm', ...STD, 'host', 'true'], { PATH: `${noNode}:${process.env.PATH}`, CONTAINER_ISOLATION_LEVEL: 'minimal' })).exitCode).toBe(97);
    // the supervisor binary changed since the recipe was written
    const shim = join(ROOT, 'build', 'codex32-shim');
    const st = statSync(shim);
    utimesSync(shim, st.atime, new Date(st.mtimeMs + 1000));
    try {
      expect((await native(['run', '--rm', ...STD, 'host', 'true'])).exitCode).toBe(97);
    } finally {
      utimesSync(shim, st.atime, st.mtime);
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
    // options outside the native set, a foreground run that keeps its container, another image
    for (const args of [['--rm', '--memory', '64m', ...STD], ['--name', 'kept', ...STD], ['-d', '--rm', ...STD], ['--rm', '-e', 'A=1', ...STD]])
      expect((await native(['run', ...args, 'host', 'true'])).exitCode).toBe(97);
    // strict resolves to what only Node carries out: its recipe says so, and no recipe is asked for again
    if (host.levels.strict.supported) {
      expect((await cli(['run', '--rm', '--isolation', 'strict', 'host', 'true'])).exitCode).toBe(0);
      expect(readRecipe(sb.storage, 'run-strict-default')).toContain('node=1');
      expect((await native(['run', '--rm', '--isolation', 'strict', 'host', 'true'])).exitCode).toBe(97);
    }
    expect((await sb.cli(['rm', '-f', 'taken'])).exitCode).toBe(0);
  }, 120_000);
});
