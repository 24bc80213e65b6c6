// The core engine through the real CLI: lifecycle, exit codes, bad input, concurrency, crashes, rlimits.
import { execa } from 'execa';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { ContainerEngine } from '../src/engine/engine.js';
import { BIN, ROOT, SLOWDOWN, missing, pidsWith, sandbox, sleep, until } from './helpers.js';

const sb = sandbox();
afterAll(() => sb.clean());
const { cli, inspect } = sb;
const M = ['--isolation', 'minimal'];

describe('run and exit codes', () => {
  it('streams stdout and stderr and exits with the container code', async () => {
    const r = await cli(['run', '--rm', ...M, 'host', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    expect(r.stdout).toBe('out');
    expect(r.stderr).toBe('err');
    expect(r.exitCode).toBe(3);
  });

  it('gives 127 for a command that does not exist and 126 for one that cannot run', async () => {
    const nf = await cli(['run', '--rm', ...M, 'host', 'no-such-command-xyz']);
    expect(nf.exitCode).toBe(127);
    expect(nf.stderr).toContain('No such file');
    const dir = join(sb.storage, 'notexec');
    writeFileSync(dir, 'plain text');
    const ne = await cli(['run', '--rm', ...M, 'host', dir]);
    expect(ne.exitCode).toBe(126);
  });

  it('runs a script image with the command inferred from its shebang', async () => {
    const r = await cli(['run', '--rm', ...M, '-e', 'LIFETIME=0', '-e', 'EXIT_CODE=4', './bots/crasher.py'], { cwd: ROOT });
    expect(r.stdout).toContain('crasher up');
    expect(r.exitCode).toBe(4);
  });

  it('scrubs the environment to PATH, HOME, HOSTNAME and what the config sets', async () => {
    const r = await cli(['run', '--rm', ...M, '-e', 'MINE=1', 'host', 'env'], { env: { ...sb.env, SECRET_TOKEN: 'leak' } });
    const keys = String(r.stdout).split('\n').map((l) => l.split('=')[0]).sort();
    expect(keys).toEqual(['HOME', 'HOSTNAME', 'MINE', 'PATH']);
  });

  it('--rm leaves no container behind', async () => {
    await cli(['run', '--rm', ...M, '--name', 'gone', 'host', 'true']);
    const r = await cli(['inspect', 'gone']);
    expect(r.exitCode).toBe(125);
    expect(r.stderr).toContain('NO_SUCH_CONTAINER');
  });
});

describe('bad input is refused before it touches anything', () => {
  const containersDir = () => readdirSync(join(sb.storage, 'containers'));

  it.each(['..', 'a/b', '$(x)', '-rf', 'x'.repeat(64), '.hidden', 'white space'])('refuses the name %j', async (name) => {
    const before = containersDir().length;
    const r = await cli(['create', ...M, '--name', name, 'host', 'true']);
    expect(r.exitCode).toBe(125);
    expect(r.stderr).toMatch(/Expected/);
    expect(containersDir().length).toBe(before);
  });

  it.each([
    ['--memory', '-1', 'Expected `--memory` to be a size such as 64m, got `-1`'],
    ['--memory', '18446744073709551616', 'Expected `--memory` to be a size such as 64m of at most 1024t (1125899906842624 bytes), got `18446744073709551616`'],
    ['--memory', '1e99', 'Expected `--memory` to be a size such as 64m, got `1e99`'],
    ['--fsize', '0x10', 'Expected `--fsize` to be a size such as 64m, got `0x10`'],
    ['--pids', '1.5.3', 'Expected `--pids` to be a whole number from 1 to 4194304, got `1.5.3`'],
    ['--timeout', '1e99', 'Expected `--timeout` to be a duration such as 10, 30s or 5m, got `1e99`'],
    ['--pids', '0', 'a whole number'],
    ['--cpus', 'NaN', 'a number of CPUs'],
    ['--restart', 'sometimes', 'one of no, on-failure'],
    ['--nofile', '999999', 'at most'],
  ])('refuses %s %s with the expected form', async (flag, value, form) => {
    const before = containersDir().length;
    const r = await cli(['create', ...M, `${flag}=${value}`, 'host', 'true']);
    expect(r.exitCode).toBe(125);
    expect(r.stderr).toContain(form);
    expect(containersDir().length).toBe(before);
  });

  it('refuses an unknown flag with 125', async () => {
    const r = await cli(['create', '--no-such-flag', 'host', 'true']);
    expect(r.exitCode).toBe(125);
  });

  it('refuses an image path that does not exist', async () => {
    const r = await cli(['create', ...M, './does/not/exist.py']);
    expect(r.exitCode).toBe(125);
    expect(r.stderr).toContain('NO_SUCH_IMAGE');
  });
});

/** An app directory of n one-byte files and a main.sh: copying or deleting it takes a while, on purpose. */
function appOfFiles(name: string, n: number, main: string): string {
  const app = join(sb.storage, name);
  mkdirSync(app);
  for (let i = 0; i < n; i++) writeFileSync(join(app, `f${i}`), 'x');
  writeFileSync(join(app, 'main.sh'), main);
  return app;
}

describe('concurrency', () => {
  // an engine in this process, for the tests that race it against a CLI
  const engine = new ContainerEngine({ storageDir: sb.storage });
  afterAll(() => engine.close());

  it('twenty parallel creates of one name: exactly one succeeds', async () => {
    const rs = await Promise.all(Array.from({ length: 20 }, () => cli(['create', ...M, '--name', 'same', 'host', 'true'])));
    expect(rs.filter((r) => r.exitCode === 0)).toHaveLength(1);
    for (const r of rs.filter((r) => r.exitCode !== 0)) expect(r.stderr).toContain('NAME_IN_USE');
    expect(readdirSync(join(sb.storage, 'containers'))).toHaveLength(
      (await sb.json<unknown[]>(['ps', '-a', '--json'])).length,
    );
    await cli(['rm', 'same']);
  });

  it('fifty parallel run -d all succeed and never see "database is locked"', async () => {
    const rs = await Promise.all(Array.from({ length: 50 }, (_, i) => cli(['run', '-d', ...M, '--name', `par${i}`, 'host', 'sleep', '60'])));
    for (const r of rs) {
      expect(r.stderr).not.toContain('locked');
      expect(r.exitCode).toBe(0);
    }
    const ps = await sb.json<Array<{ Name: string; Status: string }>>(['ps', '--json']);
    expect(ps.filter((c) => c.Name.startsWith('par') && c.Status === 'running')).toHaveLength(50);
    const rm = await cli(['rm', '-f', ...Array.from({ length: 50 }, (_, i) => `par${i}`)]);
    expect(rm.exitCode).toBe(0);
  }, 300_000 * SLOWDOWN);

  it('rm -f beside a removal by another process returns once the container is gone, its name free', async () => {
    // a removal made slow on purpose: the container's copy of a 20000-file app
    const app = appOfFiles('big-app', 20000, 'true\n');
    const c = await engine.create({ name: 'big-rm', image: app, command: ['sh', 'main.sh'], isolation: 'minimal' });
    const removing = engine.remove(c.id, { force: true });
    await until(() => engine.store.getContainer(c.id)?.status === 'removing', 10_000, 2);
    const rm = await cli(['rm', '-f', 'big-rm']);
    expect(rm.exitCode, String(rm.stderr)).toBe(0);
    // before, this rm returned at once, with the first removal still deleting the files
    expect(existsSync(join(sb.storage, 'containers', c.id))).toBe(false);
    expect((await cli(['create', '--name', 'big-rm', ...M, 'host', 'true'])).exitCode).toBe(0);
    await removing;
    await cli(['rm', 'big-rm']);
  }, 120_000 * SLOWDOWN);

  it('a removal that failed in a long-lived process is done again by the next remove, never reported done', async () => {
    const c = await engine.create({ name: 'stuck-rm', image: 'host', command: ['true'], isolation: 'minimal' });
    const dir = join(sb.storage, 'containers', c.id);
    const busy = join(dir, 'busy');
    mkdirSync(busy);
    execFileSync('mount', ['-t', 'tmpfs', 'none', busy]); // its directory cannot be deleted while mounted on
    try {
      await expect(engine.remove(c.id, { force: true })).rejects.toThrow();
    } finally {
      execFileSync('umount', [busy]);
    }
    expect(engine.store.getContainer(c.id)?.status).toBe('removing');
    // before, this returned at once: the row was ours and "removing", so the work was taken as under way
    await engine.remove(c.id, { force: true });
    expect(engine.store.getContainer(c.id)).toBeUndefined();
    expect(existsSync(dir)).toBe(false);
  });

  it('rm -f from another process during a start waits for that start, then stops and removes everything', async () => {
    // a start made slow on purpose: refreshApp copies the app's 3000 files again at each start
    const app = appOfFiles('slow-app', 3000, 'sleep 60 # slow-start-marker\n');
    const c = await engine.create({ image: app, command: ['sh', 'main.sh'], isolation: 'minimal', refreshApp: true });
    const starting = c.start();
    await until(() => engine.store.getContainer(c.id)?.status === 'starting', 10_000, 5);
    // before, the removal deleted the directory under the start: ENOTEMPTY here, ENOENT on its spec there
    const rm = await cli(['rm', '-f', c.id]);
    expect(rm.stderr).toBe('');
    expect(rm.exitCode).toBe(0);
    await starting; // it finished, and was then stopped
    expect(existsSync(join(sb.storage, 'containers', c.id))).toBe(false);
    expect(engine.store.getContainer(c.id)).toBeUndefined();
    expect(pidsWith('main.sh')).toEqual([]);
  }, 120_000 * SLOWDOWN);
});

describe('daemonless supervision', () => {
  it('a container outlives the CLI and its exit is recorded with no engine process running', async () => {
    const go = join(sb.storage, 'later-go');
    const r = await cli(['run', '-d', ...M, '--name', 'later', 'host', 'sh', '-c', `while [ ! -e ${go} ]; do sleep 0.05; done; echo done; exit 7`]);
    expect(r.exitCode).toBe(0);
    const before = await inspect('later');
    expect(before.State.Running).toBe(true);
    // the container ends while no codex32 process runs: watch only /proc and the supervisor's exit record
    writeFileSync(go, '');
    const exits = join(sb.storage, 'containers', before.Id, 'exits');
    await until(() => pidsWith(go).length === 0 && existsSync(exits) && readFileSync(exits, 'utf8').includes('\n'), 60_000, 100);
    // the supervisor may still be finishing its last write: the record, not a CLI, decided the outcome
    const doc = await until(async () => ((d) => (d.State.Status === 'running' ? undefined : d))(await inspect('later')));
    expect(doc.State.Status).toBe('exited');
    expect(doc.State.ExitCode).toBe(7);
    expect(doc.Runs).toHaveLength(1);
    expect((await cli(['logs', 'later'])).stdout).toBe('done');
  });

  it('stop sends SIGTERM, then SIGKILL after -t, and ps answers during the wait', async () => {
    const stubborn = "trap '' TERM; echo ready; while :; do sleep 0.1; done";
    await cli(['run', '-d', ...M, '--name', 'stubborn', 'host', 'sh', '-c', stubborn]);
    await until(async () => String((await cli(['logs', 'stubborn'])).stdout).includes('ready'));
    // a grace period far longer than any ps takes on a loaded machine: ps answers and shows the stop
    const stop = cli(['stop', '-t', '120', 'stubborn']);
    await until(async () => {
      const ps = await cli(['ps', '-a', '--json']);
      expect(ps.exitCode).toBe(0);
      return JSON.parse(String(ps.stdout)).find((c: { Name: string }) => c.Name === 'stubborn')?.Status === 'stopping';
    }, 60_000, 100);
    expect((await cli(['kill', 'stubborn'])).exitCode).toBe(0); // ends the wait; the stop returns with it
    expect((await stop).exitCode).toBe(0);
    expect((await inspect('stubborn')).State.Status).toBe('exited');

    // and -t is the grace period: SIGKILL comes after it, never before
    await cli(['run', '-d', ...M, '--name', 'stubborn2', 'host', 'sh', '-c', stubborn]);
    await until(async () => String((await cli(['logs', 'stubborn2'])).stdout).includes('ready'));
    const t0 = Date.now();
    expect((await cli(['stop', '-t', '2', 'stubborn2'])).exitCode).toBe(0);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1900);
    const doc = await inspect('stubborn2');
    expect(doc.State.ExitCode).toBe(137);
    expect(doc.State.Status).toBe('exited');
  });

  it('stop leaves no process behind, even one that double-forked and called setsid', async () => {
    const marker = `${1000 + Math.floor(Math.random() * 1000)}.123`;
    await cli(['run', '-d', ...M, '--name', 'forker', 'host', 'sh', '-c', `setsid sh -c 'sleep ${marker} & exit' ; sleep ${marker}`]);
    await until(() => pidsWith(`sleep\0${marker}`).length >= 2);
    await cli(['stop', '-t', '1', 'forker']);
    await until(() => pidsWith(`sleep\0${marker}`).length === 0, 30_000);
  });

  it('a main process that exits by itself leaves none of its double-forked, setsid children behind', async () => {
    // without cgroups only the supervisor's walk of its descendants finds the orphans: they are its
    // children (it is their subreaper), which its check for children before the walk must see
    const marker = `${3000 + Math.floor(Math.random() * 1000)}.25`;
    const noCgroups = { env: { ...sb.env, CODEX32_CGROUP_ROOT: '/nonexistent' } };
    const r = await cli(['run', ...M, '--name', 'leaver', 'host', 'sh', '-c', `setsid sh -c 'sleep ${marker} & exit'; sleep ${marker} & sleep 0.3; exit 4`], noCgroups);
    expect(r.exitCode).toBe(4);
    await until(() => pidsWith(`sleep\0${marker}`).length === 0, 30_000);
  });

  it('a killed supervisor is reported truthfully and rm -f kills what was left', async () => {
    const marker = `${2000 + Math.floor(Math.random() * 1000)}.5`;
    await cli(['run', '-d', ...M, '--name', 'orphan', 'host', 'sleep', marker]);
    const shim = pidsWith('codex32-shim').find((p) => pidsWith(`sleep\0${marker}`).length && p);
    expect(shim).toBeDefined();
    const shimPid = (await execa('sh', ['-c', `ps -o ppid= -p ${pidsWith(`sleep\0${marker}`)[0]}`])).stdout.trim();
    process.kill(Number(shimPid), 'SIGKILL');
    const doc = await until(async () => ((d) => (d.State.Status === 'running' ? undefined : d))(await inspect('orphan')));
    expect(doc.State.Status).toBe('dead');
    expect(doc.State.Reason).toBe('supervisor-lost');
    await until(() => pidsWith(`sleep\0${marker}`).length === 0, 30_000);
    expect((await cli(['rm', '-f', 'orphan'])).exitCode).toBe(0);
  });

  it('never signals a process that reused a dead container pid', async () => {
    await cli(['create', ...M, '--name', 'reuse', 'host', 'sleep', '100']);
    const victim = spawn('sleep', ['300'], { stdio: 'ignore' });
    const db = new Database(join(sb.storage, 'state.db'));
    const row = db.prepare("SELECT id, state FROM containers WHERE name = 'reuse'").get() as { id: string; state: string };
    // pretend an old run had the victim's pid (with another start time) and its supervisor is gone
    const state = { ...JSON.parse(row.state), init: { pid: victim.pid, start: '1' }, shim: { pid: victim.pid, start: '1' } };
    db.prepare("UPDATE containers SET status = 'running', state = ? WHERE id = ?").run(JSON.stringify(state), row.id);
    db.close();
    const r = await cli(['rm', '-f', 'reuse']);
    expect(r.exitCode).toBe(0);
    await sleep(100);
    expect(victim.exitCode).toBeNull();
    expect(victim.signalCode).toBeNull();
    victim.kill();
  });

  it('a CLI killed at any moment of run -d leaves the name reusable and no stray process', async () => {
    for (const delay of [40, 90, 120, 140, 160, 180, 200, 230]) {
      const name = `killed${delay}`;
      const marker = `${3000 + delay}.25`;
      const child = spawn('node', [BIN, 'run', '-d', ...M, '--name', name, 'host', 'sleep', marker], { env: { ...process.env, ...sb.env }, stdio: 'ignore' });
      await sleep(delay);
      const exited = new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
      child.kill('SIGKILL');
      await exited;
      const ps = await sb.json<Array<{ Name: string; Status: string }>>(['ps', '-a', '--json']);
      const mine = ps.find((c) => c.Name === name);
      if (mine) expect(['created', 'running', 'exited']).toContain(mine.Status);
      await cli(['rm', '-f', name]);
      await until(() => pidsWith(`sleep\0${marker}`).length === 0, 30_000);
      const again = await cli(['create', ...M, '--name', name, 'host', 'true']);
      expect(again.exitCode).toBe(0);
      await cli(['rm', name]);
    }
  }, 240_000 * SLOWDOWN); // eight rounds of five CLI calls each: 25 s on a busy machine, far more with both cores taken
});

describe('commands', () => {
  it('start, restart, kill, wait and inspect --format', async () => {
    const id = String((await cli(['create', ...M, '--name', 'cycle', 'host', 'sh', '-c', 'echo up; sleep 30'])).stdout);
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect((await inspect('cycle')).State.Status).toBe('created');
    expect((await cli(['start', id.slice(0, 12)])).exitCode).toBe(0);
    const pid1 = (await inspect('cycle')).State.Pid;
    expect(pid1).toBeGreaterThan(0);
    expect((await cli(['restart', '-t', '1', 'cycle'])).exitCode).toBe(0);
    expect((await inspect('cycle')).State.Pid).not.toBe(pid1);
    const wait = cli(['wait', 'cycle']);
    await cli(['kill', '-s', 'TERM', 'cycle']);
    expect((await wait).stdout).toBe('143');
    const f = await cli(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}} {{json .HostConfig.RestartPolicy}}', 'cycle']);
    expect(f.stdout).toBe('exited 143 {"Name":"no","MaximumRetryCount":0}');
    expect((await inspect('cycle')).Runs).toHaveLength(2);
  });

  it('rm refuses a running container without -f', async () => {
    await cli(['run', '-d', ...M, '--name', 'busy', 'host', 'sleep', '30']);
    const r = await cli(['rm', 'busy']);
    expect(r.exitCode).toBe(125);
    expect(r.stderr).toContain('INVALID_STATE');
    expect((await cli(['rm', '-f', 'busy'])).exitCode).toBe(0);
  });

  it('logs: --tail, --since, -t and -f', async () => {
    const go = join(sb.storage, 'talker-go');
    await cli(['run', '-d', ...M, '--name', 'talker', 'host', 'sh', '-c', `for i in 1 2 3 4 5; do echo line$i; done; while [ ! -e ${go} ]; do sleep 0.05; done; echo late; echo oops >&2`]);
    await until(async () => String((await cli(['logs', 'talker'])).stdout).includes('line5'));
    expect((await cli(['logs', '--tail', '2', 'talker'])).stdout).toBe('line4\nline5');
    const ts = await cli(['logs', '-t', '--tail', '1', 'talker']);
    expect(ts.stdout).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z line5$/);
    const following = cli(['logs', '-f', 'talker']);
    await sleep(300);
    writeFileSync(go, '');
    const follow = await following;
    expect(follow.stdout).toBe('line1\nline2\nline3\nline4\nline5\nlate');
    expect(follow.stderr).toBe('oops');
    expect((await cli(['logs', '--since', '1h', '--stream', 'stderr', 'talker'])).stderr).toBe('oops');
    expect((await cli(['logs', '--since', String(Date.now() / 1000 + 60), 'talker'])).stdout).toBe('');
  });

  it('applies rlimits visible in /proc/PID/limits', async () => {
    const r = await cli(['run', '--rm', ...M, '--nofile', '256', '--cpu-time', '100', '--fsize', '1m', 'host', 'cat', '/proc/self/limits']);
    expect(r.stdout).toMatch(/Max open files\s+256\s+256/);
    expect(r.stdout).toMatch(/Max cpu time\s+100\s+100/);
    expect(r.stdout).toMatch(/Max file size\s+1048576\s+1048576/);
  });

  it.skipIf(!!missing({ cgroup: ['memory'] }))('--memory in minimal is the memory cgroup: Node starts under 64m, 200 MB touched is OOM-killed', async () => {
    // V8 reserves far more address space than 64 MB: under an RLIMIT_AS of 64m it could not start at all
    const node = await cli(['run', '--rm', ...M, '--memory', '64m', 'host', 'sh', '-c', 'grep "Max address space" /proc/self/limits; node -e "console.log(6 * 7)"']);
    expect(node.exitCode).toBe(0);
    expect(node.stdout).toMatch(/Max address space\s+unlimited\s+unlimited/);
    expect(node.stdout).toContain('42');
    const big = await cli(['run', '--name', 'mem-hog', ...M, '--memory', '64m', 'host', 'python3', '-c', 'x = bytearray(200 * 1024 * 1024)']);
    expect(big.exitCode).toBe(137);
    expect((await inspect('mem-hog')).State.OOMKilled).toBe(true);
    await cli(['rm', 'mem-hog']);
  });

  it('prune removes stopped containers and their files', async () => {
    await cli(['run', ...M, '--name', 'prunable', 'host', 'true']);
    const id = (await inspect('prunable')).Id;
    const r = await cli(['prune']);
    expect(r.stdout).toContain('prunable');
    expect(existsSync(join(sb.storage, 'containers', id))).toBe(false);
  });

  it('info tells which isolation levels work', async () => {
    const info = await sb.json<{ levels: Record<string, { supported: boolean }> }>(['info', '--json']);
    expect(info.levels.minimal.supported).toBe(true);
    expect((await cli(['info'])).stdout).toContain('Isolation levels');
  });
});

describe('more bad input', () => {
  it.each([
    [['-v', '/etc:/proc/x'], 'outside /proc, /sys and /dev'],
    [['-v', '/etc:relative'], 'absolute path'],
    [['-v', '/etc:/a/../b'], 'without ..'],
    [['-v', '/no/such/dir:/data'], 'exist on the host'],
    [['-v', '/etc:/data', '-v', '/tmp:/data'], 'each volume destination once'],
  ])('refuses volumes %j', async (flags, message) => {
    const r = await cli(['create', '--isolation', 'standard', ...flags, 'host', 'true']);
    expect(r.exitCode).toBe(125);
    expect(r.stderr).toContain(message);
  });

  it('refuses volumes at minimal, where there is no mount namespace for them', async () => {
    const r = await cli(['create', ...M, '-v', '/etc:/data', 'host', 'true']);
    expect(r.stderr).toContain('Volumes need a mount namespace');
  });

  it('--port auto gives a free loopback port through PORT and shows its URL; strict refuses a port', async () => {
    const r = await cli(['run', ...M, '--name', 'porty', '--port', 'auto', 'host', 'sh', '-c', 'echo $PORT']);
    const doc = await inspect('porty');
    expect(doc.NetworkSettings.URL).toBe(`http://127.0.0.1:${r.stdout}`);
    const s = await cli(['create', '--isolation', 'strict', '--port', '8080', 'host', 'true']);
    expect(s.exitCode).toBe(125);
    expect(s.stderr).toContain('own network namespace');
  });

  it('a bad setting in the environment names the variable, the value and what is expected', async () => {
    const r = await cli(['ps'], { env: { ...sb.env, CONTAINER_ISOLATION_LEVEL: 'paranoid' } });
    expect(r.exitCode).toBe(125);
    expect(r.stderr).toContain('CONTAINER_ISOLATION_LEVEL');
    expect(r.stderr).toContain('paranoid');
  });

  it('a database newer than the code, or not a database, is refused with a way back', async () => {
    const dir = join(sb.storage, 'dbtest');
    mkdirSync(dir, { recursive: true });
    const db = new Database(join(dir, 'state.db'));
    db.pragma('user_version = 999');
    db.close();
    const r = await cli(['ps'], { env: { ...sb.env, CONTAINER_STORAGE_DIR: dir } });
    expect(r.exitCode).toBe(125);
    expect(r.stderr).toContain('STATE_TOO_NEW');
    writeFileSync(join(dir, 'state.db'), 'garbage'.repeat(1000));
    rmSync(join(dir, 'state.db-wal'), { force: true });
    rmSync(join(dir, 'state.db-shm'), { force: true });
    const c = await cli(['ps'], { env: { ...sb.env, CONTAINER_STORAGE_DIR: dir } });
    expect(c.exitCode).toBe(125);
    expect(c.stderr).toContain('STATE_CORRUPT');
    expect(c.stderr).toContain('docs/state.md');
  });

  it('the service refuses a non-loopback bind without a token', async () => {
    const r = await cli(['serve', '--host', '0.0.0.0', '--port', '0']);
    expect(r.exitCode).toBe(125);
    expect(r.stderr).toContain('without a token');
  });
});
