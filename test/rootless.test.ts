// Rootless: the CLI run by an ordinary user (scripts/rootless-user.sh makes codex32-rootless, with a
// subordinate range) with its own HOME; standard and strict in a user namespace over that range,
// pasta's private network with a published port. Where systemd runs (the guest pass) the user has a
// real systemd manager of its own (loginctl enable-linger) and its limits go in the cgroup systemd
// delegated to it; without one, every cgroup limit is refused by name.
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subRangeOf } from '../src/runtime/rootless.js';
import { DOCKER } from './dockerapi-helpers.js';
import { dockerArchive, fakeRegistry } from './fixtures/oci.js';
import { BIN, pidsWith, SLOWDOWN, until } from './helpers.js';

/** A static busybox of the host's, lent read-only to images that have no shell of their own. */
const BUSYBOX = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p));

const USER = 'codex32-rootless';

/** The test user's ids, or undefined when it does not exist. */
function userIds(): { uid: number; gid: number } | undefined {
  try {
    const id = (flag: string) => Number(execFileSync('id', [flag, USER], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    return undefined;
  }
}

const onPath = (t: string) => ['/usr/bin', '/bin', '/usr/sbin', '/sbin'].some((d) => existsSync(`${d}/${t}`));
const ids = userIds();
const subuid = ids && subRangeOf(existsSync('/etc/subuid') ? readFileSync('/etc/subuid', 'utf8') : '', USER, ids.uid);

/** Why the tests cannot run here: the host's own features always skip; in CI, what the set-up installs never does. */
function why(): string | undefined {
  if (process.getuid?.() !== 0) return 'the tests switch to the test user, which needs root';
  if (Number(readFileSync('/proc/sys/user/max_user_namespaces', 'utf8')) === 0) return 'user namespaces are disabled (user.max_user_namespaces is 0)';
  if (existsSync('/proc/sys/kernel/unprivileged_userns_clone') && readFileSync('/proc/sys/kernel/unprivileged_userns_clone', 'utf8').trim() === '0') return 'unprivileged user namespaces are disabled';
  if (process.env.CI === 'true') return undefined;
  if (!ids) return `no user ${USER} (scripts/rootless-user.sh makes it)`;
  if (!subuid) return `no /etc/subuid range for ${USER} (scripts/rootless-user.sh adds it)`;
  if (!onPath('newuidmap') || !onPath('newgidmap')) return 'no newuidmap/newgidmap (Debian package uidmap)';
  if (!onPath('pasta')) return 'no pasta (Debian package passt)';
  if (!onPath('setpriv')) return 'no setpriv (util-linux)';
  if (!BUSYBOX) return 'no static busybox (Debian package busybox-static)';
  if (!existsSync(DOCKER)) return `no ${DOCKER} (the docker CLI, Debian package docker.io)`;
  if (session && !onPath('loginctl')) return 'systemd runs, but there is no loginctl to give the user a manager of its own';
  return undefined;
}
/** systemd runs: the user gets its own manager (lingering), which systemd delegates a cgroup v2 subtree to. */
const session = existsSync('/run/systemd/system');
const skip = why();

// the user's own tree: HOME (so storage defaults to ~/.local/share/codex32) and XDG_RUNTIME_DIR (the
// user manager's own where it has one: its bus is there)
const home = mkdtempSync(join(tmpdir(), 'c32-rootless-'));
const runtimeDir = session && ids ? `/run/user/${ids.uid}` : join(home, 'run');
/** The cgroup systemd delegates to the user's manager, and codex32's scope in it. */
const userScope = ids && `/sys/fs/cgroup/user.slice/user-${ids.uid}.slice/user@${ids.uid}.service/codex32.slice/codex32.scope`;
const storage = join(home, '.local', 'share', 'codex32');

/** The CLI as the test user, with only its own environment. */
const asUser = ['--reuid', USER, '--regid', USER, '--init-groups', 'env', '-i', 'PATH=/usr/bin:/bin', `HOME=${home}`, `XDG_RUNTIME_DIR=${runtimeDir}`, 'LOG_LEVEL=silent', process.execPath, BIN];
const cli = (args: string[], cwd = home) =>
  execa('setpriv', [...asUser, ...args], {
    reject: false,
    stripFinalNewline: true,
    cwd,
    timeout: 120_000 * SLOWDOWN,
  });

const ok = async (args: string[], cwd?: string) => {
  const r = await cli(args, cwd);
  if (r.exitCode !== 0) throw new Error(`codex32 ${args.join(' ')} failed (${r.exitCode}): ${r.stderr}`);
  return String(r.stdout);
};

/** GET url; the body, or the error's message. */
const get = (url: string) =>
  new Promise<string>((resolve) => {
    const req = request(url, { timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve(body));
    });
    req.on('error', (e) => resolve(`error: ${e.message}`));
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });

/** A free loopback TCP port for -p. */
async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

let registry: Awaited<ReturnType<typeof fakeRegistry>> | undefined;

beforeAll(async () => {
  if (skip) return;
  registry = await fakeRegistry();
  if (session) {
    // a manager of the user's own, as a login would start, kept without one; ready once its bus listens
    execFileSync('loginctl', ['enable-linger', USER]);
    await until(() => (existsSync(`${runtimeDir}/bus`) ? true : undefined), 60_000 * SLOWDOWN, 200);
  } else mkdirSync(runtimeDir, { mode: 0o700 });
  mkdirSync(join(home, 'app'));
  writeFileSync(join(home, 'app', 'hello.txt'), 'hello from a path image\n');
  for (const p of [home, ...(session ? [] : [runtimeDir]), join(home, 'app'), join(home, 'app', 'hello.txt')]) chownSync(p, ids!.uid, ids!.gid);
}, 90_000 * SLOWDOWN);

afterAll(async () => {
  if (!skip) {
    const r = await cli(['ps', '-aq']);
    const left = String(r.stdout).split('\n').filter(Boolean);
    if (left.length) await cli(['rm', '-f', ...left]);
    if (session) execFileSync('loginctl', ['disable-linger', USER]);
  }
  await registry?.close();
  rmSync(home, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
});

describe.skipIf(!!skip)(`rootless, as ${USER}${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('info says rootless, with the user\'s range, pasta and the limits it refuses', async () => {
    const text = await ok(['info']);
    expect(text).toContain(`Storage:            ${storage}`);
    expect(text).toMatch(new RegExp(`Rootless:\\s+yes, as ${USER} \\(uid ${ids!.uid}\\); container uids 0->${ids!.uid}, 1-65535->${subuid!.start}-`));
    expect(text).toMatch(/Rootless network:\s+private through pasta/);
    expect(text).toMatch(session ? /Rootless limits:\s+the user's systemd manager's delegated cgroup, controllers memory, pids, cpu;/ : /Rootless limits:\s+no delegated cgroup: --memory/);
    expect(text).toMatch(/standard\s+supported/);
    expect(text).toMatch(/strict\s+supported/);
    const json = JSON.parse(await ok(['info', '--json'])) as { root: boolean; rootless: { subuid: { start: number } } };
    expect(json.root).toBe(false);
    expect(json.rootless.subuid.start).toBe(subuid!.start);
  });

  it('standard: run, ps, exec, logs, stop and rm in a user namespace over the user\'s range, nothing left', async () => {
    const id = (await ok(['run', '-d', '--name', 'rl-std', '--network', 'none', 'host', 'sh', '-c', 'echo started-rootless; cat /proc/self/uid_map; exec sleep 600'])).trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(await ok(['ps'])).toMatch(/Up .*standard.*rl-std/);
    expect(await ok(['exec', 'rl-std', 'id', '-u'])).toBe('0');
    const logs = await until(async () => {
      const l = await ok(['logs', 'rl-std']);
      return l.includes(String(subuid!.start)) ? l : undefined;
    });
    expect(logs).toContain('started-rootless');
    expect(logs).toMatch(new RegExp(`^\\s*0\\s+${ids!.uid}\\s+1$`, 'm'));
    expect(logs).toMatch(new RegExp(`^\\s*1\\s+${subuid!.start}\\s+65535$`, 'm'));
    // seen from the host, every process of the container is the user's
    const pid = (JSON.parse(await ok(['inspect', 'rl-std'])) as Array<{ State: { Pid: number } }>)[0].State.Pid;
    expect(readFileSync(`/proc/${pid}/status`, 'utf8')).toMatch(new RegExp(`^Uid:\\s+${ids!.uid}\\s`, 'm'));
    await ok(['stop', '-t', '1', 'rl-std']);
    await ok(['rm', 'rl-std']);
    expect(pidsWith(id)).toEqual([]);
    expect(readdirSync(join(storage, 'containers'))).toEqual([]);
  });

  it('strict: the same range, a read-only root, no nested user namespaces', async () => {
    const out = await ok(['run', '--rm', '--isolation', 'strict', 'host', 'sh', '-c', 'id -u; cat /proc/self/uid_map; touch /x 2>/dev/null || echo root-read-only; cat /proc/sys/user/max_user_namespaces']);
    expect(out).toMatch(/^0$/m);
    expect(out).toMatch(new RegExp(`^\\s*1\\s+${subuid!.start}\\s+65535$`, 'm'));
    expect(out).toContain('root-read-only');
    expect(out.trim().split('\n').at(-1)).toBe('0');
  });

  it.skipIf(!session)('limits in the cgroup systemd delegated to the user\'s manager: written, joined by exec, an OOM kill seen, gone at rm', async () => {
    const id = (await ok(['run', '-d', '--name', 'rl-lim', '--memory', '64m', '--pids', '32', '--cpus', '0.5', '--network', 'none', 'host', 'sleep', '600'])).trim();
    const dir = `${userScope}/containers/${id}`;
    expect(readFileSync(`${dir}/memory.max`, 'utf8').trim()).toBe(String(64 * 1024 * 1024));
    expect(readFileSync(`${dir}/memory.swap.max`, 'utf8').trim()).toBe('0');
    expect(readFileSync(`${dir}/pids.max`, 'utf8').trim()).toBe('32');
    expect(readFileSync(`${dir}/cpu.max`, 'utf8').trim()).toBe('50000 100000');
    // the container's init, seen from the host, is in it; the CLI's supervisor in the scope's leaf
    const pid = (JSON.parse(await ok(['inspect', 'rl-lim'])) as Array<{ State: { Pid: number } }>)[0].State.Pid;
    expect(readFileSync(`/proc/${pid}/cgroup`, 'utf8')).toContain(`0::${dir.slice('/sys/fs/cgroup'.length)}\n`);
    expect(readFileSync(`${userScope}/supervise/cgroup.procs`, 'utf8').trim()).not.toBe('');
    // an exec'd command joins the container's cgroup though the CLI started outside the user's tree
    await ok(['exec', '-d', 'rl-lim', 'sleep', '300']);
    await until(() => (readFileSync(`${dir}/cgroup.procs`, 'utf8').trim().split('\n').length >= 2 ? true : undefined), 20_000 * SLOWDOWN);
    await ok(['rm', '-f', 'rl-lim']);
    expect(existsSync(dir)).toBe(false);
    // the kernel's OOM killer, counted in the container's memory.events
    await ok(['run', '-d', '--name', 'rl-oom', '--memory', '32m', '--network', 'none', 'host', 'node', '-e', 'const a = []; for (;;) a.push(Buffer.alloc(1 << 20, 1))']);
    expect((await ok(['wait', 'rl-oom'])).trim()).toBe('137');
    const state = (JSON.parse(await ok(['inspect', 'rl-oom'])) as Array<{ State: { OOMKilled: boolean } }>)[0].State;
    expect(state.OOMKilled).toBe(true);
    await ok(['rm', 'rl-oom']);
  });

  it('OCI images pulled and loaded: owners, whiteouts and opaque directories as the image has them, all removed with the container and rmi', async () => {
    // pulled: a one-layer image from a registry on 127.0.0.1; the host's static busybox lent read-only to read it
    const tiny = `127.0.0.1:${registry!.port}/team/tiny:1`;
    await ok(['pull', tiny]);
    expect(await ok(['run', '--rm', '--network', 'none', '-v', `${BUSYBOX}:/bin/busybox:ro`, tiny, '/bin/busybox', 'cat', '/hello.txt'])).toBe('hi');
    // loaded: two layers, the second deleting a directory of the first (a whiteout) and replacing another (opaque)
    const archive = join(home, 'layers.tar');
    writeFileSync(archive, dockerArchive('rl/layers:1', [
      [
        { name: 'bin/', type: '5' }, { name: 'data/', type: '5' }, { name: 'data/keep/', type: '5' }, { name: 'data/gone/', type: '5' }, { name: 'data/gone/f', data: 'gone' },
        { name: 'opq/', type: '5' }, { name: 'opq/old', data: 'old' }, { name: 'home/', type: '5' },
        { name: 'home/bot/', type: '5', uid: 1000, gid: 1000, mode: 0o700 }, { name: 'home/bot/f', data: 'mine', uid: 1000, gid: 1000 },
      ],
      [{ name: 'data/', type: '5' }, { name: 'data/.wh.gone', data: '' }, { name: 'opq/', type: '5' }, { name: 'opq/.wh..wh..opq', data: '' }, { name: 'opq/new', data: 'new' }],
    ]));
    chownSync(archive, ids!.uid, ids!.gid);
    expect(await ok(['load', '-i', archive])).toContain('rl/layers:1');
    const bb = (script: string) => ['run', '--rm', '--network', 'none', '-v', `${BUSYBOX}:/bin/busybox:ro`, 'rl/layers:1', '/bin/busybox', 'sh', '-c', script];
    const seen = await ok(bb('b=/bin/busybox; $b stat -c "%u:%g %a %n" /home/bot /home/bot/f; $b ls /data; $b ls /opq; $b rm -rf /data/keep /home/bot && echo removed'));
    expect(seen.split('\n')).toEqual(['1000:1000 700 /home/bot', '1000:1000 644 /home/bot/f', 'keep', 'new', 'removed']);
    // a named volume is filled from the image where the files are the container root's; where they are
    // another id's, it is refused by name and left empty, not half-filled
    expect(await ok([...bb('/bin/busybox cat /opq/new').slice(0, 4), '-v', 'rl-opq:/opq', ...bb('/bin/busybox cat /opq/new').slice(4)])).toBe('new');
    const other = await cli([...bb('true').slice(0, 4), '-v', 'rl-bot:/home/bot', ...bb('true').slice(4)]);
    expect([other.exitCode, String(other.stderr)]).toEqual([125, expect.stringMatching(/Cannot fill the volume rl-bot .*volume-nocopy.*\[HOST_UNSUPPORTED\]/)]);
    expect(readdirSync(join(storage, 'volumes', 'rl-bot', '_data'))).toEqual([]);
    await ok(['volume', 'rm', 'rl-opq', 'rl-bot']);
    // on the host the image's uid 1000 is the range's, as the container maps it
    const layerOwners = execFileSync('sh', ['-c', `stat -c %u ${storage}/oci/layers/*/home/bot/f`], { encoding: 'utf8' }).trim();
    expect(layerOwners).toBe(String(subuid!.start + 999));
    // a container that gave its files to other ids of the range is removed whole, then the image and its layers
    await ok(['run', '-d', '--name', 'rl-img', ...bb('b=/bin/busybox; $b mkdir -p /y/z && $b chown -R 1000:1000 /y && $b chmod 700 /y && exec $b sleep 300').slice(1)]);
    await until(async () => ((await cli(['exec', 'rl-img', '/bin/busybox', 'ls', '/y/z'])).exitCode === 0 ? true : undefined), 30_000 * SLOWDOWN);
    await ok(['rm', '-f', 'rl-img']);
    await ok(['rmi', 'rl/layers:1', tiny]);
    expect(readdirSync(join(storage, 'containers'))).toEqual([]);
    expect(readdirSync(join(storage, 'oci', 'layers'))).toEqual([]);
  });

  it('the Docker API on a socket in XDG_RUNTIME_DIR: the docker CLI runs containers through it, limited where the user has a manager', async () => {
    const service = execa('setpriv', [...asUser, 'system', 'service'], { reject: false, cwd: home });
    const socket = `${runtimeDir}/codex32/docker.sock`;
    try {
      await until(() => (existsSync(socket) ? true : undefined), 60_000 * SLOWDOWN, 100);
      const docker = async (args: string[]) => {
        const r = await execa(DOCKER, ['-H', `unix://${socket}`, ...args], { reject: false, timeout: 120_000 * SLOWDOWN, env: { DOCKER_CONFIG: join(home, 'docker-config') } });
        if (r.exitCode !== 0) throw new Error(`docker ${args.join(' ')} failed (${r.exitCode}): ${r.stderr}`);
        return String(r.stdout).trim();
      };
      expect(await docker(['info', '--format', '{{json .SecurityOptions}}'])).toContain('name=rootless');
      expect(await docker(['run', '--rm', '--network', 'none', 'host', 'sh', '-c', 'echo through-the-api'])).toBe('through-the-api');
      // the service's launcher starts the supervisors: with a manager, each container in the user's delegated cgroup
      const id = await docker(['run', '-d', '--name', 'rl-api', '--network', 'none', ...(session ? ['--memory', '48m', '--pids-limit', '16'] : []), 'host', 'sleep', '300']);
      if (session) {
        expect(readFileSync(`${userScope}/containers/${id}/memory.max`, 'utf8').trim()).toBe(String(48 * 1024 * 1024));
        expect(readFileSync(`${userScope}/containers/${id}/pids.max`, 'utf8').trim()).toBe('16');
        expect(readFileSync(`${userScope}/containers/${id}/cgroup.procs`, 'utf8').trim()).not.toBe('');
      }
      expect(await docker(['exec', 'rl-api', 'echo', 'exec-ok'])).toBe('exec-ok');
      await docker(['rm', '-f', 'rl-api']);
      expect(pidsWith(id)).toEqual([]);
    } finally {
      service.kill('SIGTERM');
      await service;
    }
  });

  it('a path image: its files at /app', async () => {
    expect(await ok(['run', '--rm', '--network', 'none', './app', 'cat', '/app/hello.txt'])).toBe('hello from a path image');
  });

  it('-p through pasta: reached on 127.0.0.1, the port and pasta gone with the container', async () => {
    const port = await freePort();
    const server = `require('http').createServer((q, r) => r.end('hello-through-pasta')).listen(8080)`;
    const id = (await ok(['run', '-d', '--name', 'rl-web', '-p', `127.0.0.1:${port}:8080`, 'host', 'node', '-e', server])).trim();
    expect(await until(async () => ((await get(`http://127.0.0.1:${port}/`)) === 'hello-through-pasta' ? true : undefined), 30_000 * SLOWDOWN, 200)).toBe(true);
    expect(await ok(['exec', 'rl-web', 'cat', '/etc/resolv.conf'])).toContain('nameserver 10.0.2.3');
    const pasta = pidsWith(join(storage, 'containers', id, 'pasta.pid'));
    expect(pasta.length).toBe(1);
    await ok(['rm', '-f', 'rl-web']);
    await until(() => (pidsWith(id).length === 0 ? true : undefined), 10_000 * SLOWDOWN);
    expect(await get(`http://127.0.0.1:${port}/`)).toMatch(/^error: /);
  });

  it('refuses by name what an ordinary user cannot have', async () => {
    const before = String((await cli(['ps', '-aq'])).stdout);
    const refused = async (args: string[], pattern: RegExp) => {
      const r = await cli(['run', '--rm', ...args, 'host', 'true']);
      expect(r.exitCode).not.toBe(0);
      expect(r.stderr).toMatch(/\[HOST_UNSUPPORTED\]/);
      expect(r.stderr).toMatch(pattern);
    };
    if (!session) {
      await refused(['--memory', '64m'], /Expected no `--memory` here: codex32 runs rootless, and this user has no delegated cgroup.*systemd user session with cgroup delegation/);
      await refused(['--pids', '20', '--cpus', '0.5'], /Expected no `--pids`, `--cpus` here/);
    }
    // systemd delegates no io controller to a user's manager (Delegate=pids memory cpu)
    await refused(['--device-write-bps', '/dev/null:1m'], /Expected no `blkio` here: codex32 runs rootless, and this user has no delegated cgroup with the io controller/);
    await refused(['--network-bandwidth', '1m'], /`--network-bandwidth`.*needs root/);
    await refused(['-p', '80:80'], /host ports from \d+ up here, got `80`/);
    // what writes image layers with their owners is not yet done rootless: refused by name, not half-done
    mkdirSync(join(home, 'ctx'), { recursive: true });
    writeFileSync(join(home, 'ctx', 'Dockerfile'), 'FROM scratch\nCOPY Dockerfile /\n');
    chownSync(join(home, 'ctx'), ids!.uid, ids!.gid);
    const build = await cli(['build', '-t', 'rl-b:1', 'ctx']);
    expect([build.exitCode, String(build.stderr)]).toEqual([125, expect.stringMatching(/`build` is not available when codex32 runs rootless.*\[HOST_UNSUPPORTED\]/)]);
    // nothing was created by a refusal
    expect(String((await cli(['ps', '-aq'])).stdout)).toBe(before);
  });
});
