// The everyday verbs through the codex32 CLI and through the Docker API with docker's own CLI: top,
// rename, pause/unpause, update, diff, history, the prunes, system df, commit, export, import, push,
// login, stats' network figures, and API 1.43 with its multiplexed-stream content type.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeRegistry, loopbackRegistry } from './fixtures/oci.js';
import { DOCKER, dockerApi, type DockerApi } from './dockerapi-helpers.js';
import { privateNetworkMissing } from '../src/engine/network.js';
import { host, missing, sleep, until } from './helpers.js';

const NEW_DOCKER = '/usr/local/bin/docker';
const tools = [DOCKER, '/usr/bin/docker-registry', '/usr/bin/buildah', '/bin/busybox'].filter((t) => !existsSync(t));
const skip = missing({ standard: true, cgroup: ['memory', 'pids'] }) ?? (process.env.CI === 'true' || !tools.length ? undefined : `missing ${tools.join(', ')} (scripts/test-setup.sh installs them)`);
const noFreezer = !host.cgroup.freezer && host.cgroup.version !== 'v2' ? 'this host has no freezer cgroup' : undefined;
const work = mkdtempSync(join(tmpdir(), 'c32-verbs-'));
let api: DockerApi;
let reg = '';
let stopRegistry = () => undefined as void;

beforeAll(async () => {
  if (skip) return;
  ({ reg, stop: stopRegistry } = await loopbackRegistry(work));
  api = await dockerApi('c32-verbs-');
}, 300_000);
afterAll(async () => {
  await api?.stop();
  stopRegistry();
  rmSync(work, { recursive: true, force: true });
});

/** The file of a container's cgroup that holds a limit (v1: the controller's hierarchy; v2: the unified dir). */
function cgroupFile(id: string, controller: 'memory' | 'pids', v1: string, v2: string): string {
  return host.cgroup.version === 'v2' ? `${host.cgroup.unified}/codex32/${id}/${v2}` : `${host.cgroup.controllers[controller]}/codex32/${id}/${v1}`;
}

/** A root filesystem tarball with busybox and two files in /etc. */
function rootfsTar(): string {
  const root = join(work, 'rootfs');
  mkdirSync(join(root, 'bin'), { recursive: true });
  mkdirSync(join(root, 'etc'));
  execFileSync('cp', ['/bin/busybox', join(root, 'bin/busybox')]);
  for (const c of ['sh', 'rm', 'echo', 'cat', 'sleep', 'mkdir']) symlinkSync('busybox', join(root, 'bin', c));
  writeFileSync(join(root, 'etc/old'), 'old\n');
  writeFileSync(join(root, 'etc/keep'), 'keep\n');
  execFileSync('tar', ['-C', root, '-cf', join(work, 'rootfs.tar'), '.']);
  return join(work, 'rootfs.tar');
}

describe.skipIf(!!skip)('everyday verbs', () => {
  it('top lists the container\'s processes, with ps options (CLI and API)', async () => {
    expect((await api.cli(['run', '-d', '--name', 't1', 'host', 'sh', '-c', 'exec sleep 301'])).exitCode).toBe(0);
    const top = await api.cli(['top', 't1', '-o', 'pid,args']);
    expect(top.exitCode, String(top.stderr)).toBe(0);
    expect(String(top.stdout)).toMatch(/^PID\s+COMMAND/);
    expect(String(top.stdout)).toContain('sleep 301');
    const d = await api.docker(['top', 't1']);
    expect(d.exitCode, d.stderr).toBe(0);
    expect(d.stdout).toMatch(/^UID\s+PID\s+PPID/);
    expect(d.stdout).toContain('sleep 301');
    expect(d.stdout).not.toContain('codex32 system service'); // only the container's processes
    await api.cli(['stop', '-t', '0', 't1']);
    expect((await api.docker(['top', 't1'])).stderr).toContain('is not running');
  });

  it('rename: the new name finds it, the old one does not, a taken name is refused with docker\'s words', async () => {
    await api.cli(['create', '--name', 'r1', 'host', 'true']);
    await api.cli(['create', '--name', 'r2', 'host', 'true']);
    expect((await api.cli(['rename', 'r1', 'r3'])).exitCode).toBe(0);
    expect((await api.inspect('r3')).Name).toBe('r3');
    expect((await api.cli(['inspect', 'r1'])).exitCode).not.toBe(0);
    const taken = await api.docker(['rename', 'r3', 'r2']);
    expect(taken.exitCode).toBe(1);
    expect(taken.stderr).toContain('Conflict. The container name "/r2" is already in use by container');
    expect((await api.docker(['rename', 'r3', 'bad name'])).exitCode).toBe(1);
    expect((await api.docker(['rename', 'r3', 'r4'])).exitCode).toBe(0);
    expect((await api.docker(['inspect', '-f', '{{.Name}}', 'r4'])).stdout).toBe('/r4');
    const ev = await api.docker(['events', '--since', '0', '--until', String(Math.ceil(Date.now() / 1000) + 1), '--filter', 'event=rename', '--format', '{{.Actor.Attributes.oldName}} {{.Actor.Attributes.name}}']);
    expect(ev.stdout.split('\n')).toEqual(['/r1 r3', '/r3 r4']);
  });

  it.skipIf(!!privateNetworkMissing()[0])('rename of a container on a user network: its peers resolve the new name at once', async () => {
    expect((await api.docker(['network', 'create', 'rn'])).exitCode).toBe(0);
    for (const n of ['ra', 'rb']) expect((await api.docker(['run', '-d', '--network', 'rn', '--name', n, 'host', 'sleep', '300'])).exitCode).toBe(0);
    expect((await api.docker(['rename', 'ra', 'ra2'])).exitCode).toBe(0);
    const hosts = await api.docker(['exec', 'rb', 'cat', '/etc/hosts']);
    expect(hosts.stdout).toMatch(/\sra2(\s|$)/m);
    expect(hosts.stdout).not.toMatch(/\sra(\s|$)/m);
    await api.docker(['rm', '-f', 'ra2', 'rb']);
    await api.docker(['network', 'rm', 'rn']);
  });

  it.skipIf(!!noFreezer)('pause freezes (a counter stops), unpause resumes; exec is refused, stop and rm -f work on a paused container', async () => {
    const data = join(work, 'pause');
    mkdirSync(data);
    const counter = join(data, 'n');
    const script = 'i=0; while true; do i=$((i+1)); echo $i > /data/n; sleep 0.05; done';
    for (const n of ['p1', 'p2']) expect((await api.cli(['run', '-d', '--name', n, '-v', `${data}:/data`, 'host', 'sh', '-c', script])).exitCode).toBe(0);
    await until(() => existsSync(counter));
    expect((await api.docker(['pause', 'p1'])).exitCode).toBe(0);
    await api.cli(['stop', '-t', '0', 'p2']); // one writer left, and it is frozen
    expect((await api.docker(['inspect', '-f', '{{.State.Status}} {{.State.Paused}} {{.State.Running}}', 'p1'])).stdout).toBe('paused true true');
    expect((await api.docker(['ps', '--format', '{{.Names}} {{.Status}}'])).stdout).toMatch(/^p1 Up .* \(Paused\)$/);
    expect((await api.inspect('p1')).State.Status).toBe('paused');
    const frozen = readFileSync(counter, 'utf8');
    await sleep(500);
    expect(readFileSync(counter, 'utf8')).toBe(frozen);
    const ex = await api.docker(['exec', 'p1', 'true']);
    expect(ex.exitCode).not.toBe(0);
    expect(ex.stderr).toContain('is paused, unpause the container before exec');
    expect((await api.docker(['pause', 'p1'])).stderr).toContain('is already paused');
    expect((await api.cli(['unpause', 'p1'])).exitCode).toBe(0);
    await until(() => readFileSync(counter, 'utf8') !== frozen, 10_000);
    expect((await api.docker(['unpause', 'p1'])).stderr).toContain('is not paused');
    // stop of a paused container: thawed, signalled, gone
    await api.cli(['pause', 'p1']);
    const stop = await api.docker(['stop', '-t', '2', 'p1']);
    expect(stop.exitCode, stop.stderr).toBe(0);
    expect((await api.inspect('p1')).State.Status).toBe('exited');
    // rm -f of a paused container
    await api.cli(['start', 'p1']);
    await api.cli(['pause', 'p1']);
    expect((await api.docker(['rm', '-f', 'p1'])).exitCode).toBe(0);
    expect((await api.cli(['inspect', 'p1'])).exitCode).not.toBe(0);
    const ev = await api.cli(['events', '--since', '0', '--until', '0s']);
    expect(String(ev.stdout)).toMatch(/container pause .*name=p1/);
    expect(String(ev.stdout)).toMatch(/container unpause .*name=p1/);
  });

  it.skipIf(!!noFreezer)('a paused container runs no health checks: it stays healthy, its checks resume at unpause', async () => {
    const hc = ['--health-cmd', 'true', '--health-interval', '0.3', '--health-timeout', '1', '--health-retries', '1'];
    expect((await api.cli(['run', '-d', '--name', 'ph', ...hc, 'host', 'sleep', '300'])).exitCode).toBe(0);
    const health = async () => (await api.inspect('ph')).State.Health as { Status: string; FailingStreak: number; Log: Array<{ Start: string }> };
    const lastStart = async () => (await health()).Log.at(-1)?.Start;
    await until(async () => (await health()).Status === 'healthy', 30_000, 100);
    expect((await api.cli(['pause', 'ph'])).exitCode).toBe(0);
    await sleep(1000); // a check started just before the pause ends (it was let through) or times out
    const before = await lastStart();
    // without the pause rule each interval's check would join the frozen cgroup, time out and fail
    await sleep(3000);
    const paused = await health();
    expect(paused).toMatchObject({ Status: 'healthy', FailingStreak: 0 });
    expect(paused.Log.at(-1)?.Start).toBe(before); // no check started while paused
    expect((await api.cli(['unpause', 'ph'])).exitCode).toBe(0);
    await until(async () => (await lastStart()) !== before, 30_000, 100);
    expect((await health()).Status).toBe('healthy');
    await api.cli(['rm', '-f', 'ph']);
  });

  it('update writes the cgroup files live and keeps the limits for the next start; refuses what it cannot apply', async () => {
    await api.cli(['run', '-d', '--name', 'u1', '--memory', '64m', '--pids', '50', 'host', 'sleep', '300']);
    const id = (await api.inspect('u1')).Id as string;
    const mem = cgroupFile(id, 'memory', 'memory.limit_in_bytes', 'memory.max');
    const pids = cgroupFile(id, 'pids', 'pids.max', 'pids.max');
    expect((await api.cli(['update', '--memory', '96m', '--pids-limit', '20', 'u1'])).exitCode).toBe(0);
    expect(readFileSync(mem, 'utf8').trim()).toBe(String(96 * 1024 * 1024));
    expect(readFileSync(pids, 'utf8').trim()).toBe('20');
    const d = await api.docker(['update', '--memory', '128m', '--pids-limit', '30', 'u1']);
    expect(d.exitCode, d.stderr).toBe(0);
    expect(readFileSync(mem, 'utf8').trim()).toBe(String(128 * 1024 * 1024));
    expect(readFileSync(pids, 'utf8').trim()).toBe('30');
    expect((await api.docker(['inspect', '-f', '{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}}', 'u1'])).stdout).toBe(`${128 * 1024 * 1024} 30`);
    // refused by name, nothing written
    const swap = await api.cli(['update', '--memory-swap', '16m', 'u1']);
    expect(swap.exitCode).toBe(125);
    expect(String(swap.stderr)).toContain('memoryswap');
    expect((await api.docker(['update', '--cpuset-cpus', '0', 'u1'])).stderr).toContain('cannot update CpusetCpus');
    // kept for the next run
    await api.cli(['restart', '-t', '0', 'u1']);
    expect(readFileSync(mem, 'utf8').trim()).toBe(String(128 * 1024 * 1024));
    await api.cli(['stop', '-t', '0', 'u1']);
    expect((await api.cli(['update', '--restart', 'on-failure:3', 'u1'])).exitCode).toBe(0);
    expect((await api.docker(['inspect', '-f', '{{.HostConfig.RestartPolicy.Name}} {{.HostConfig.RestartPolicy.MaximumRetryCount}}', 'u1'])).stdout).toBe('on-failure 3');
    const ev = await api.docker(['events', '--since', '0', '--until', String(Math.ceil(Date.now() / 1000) + 1), '--filter', 'event=update', '--format', '{{.Actor.Attributes.name}}']);
    expect(ev.stdout.split('\n').length).toBeGreaterThanOrEqual(3);
  });

  it('update --restart on a running container: its supervisor applies the new policy at the next exit (CLI and API)', async () => {
    // each exits 3 once /tmp/go exists; the file stays, so a restarted one exits again at once
    const script = 'while [ ! -f /tmp/go ]; do sleep 0.1; done; exit 3';
    const fmt = '{{.State.Status}} {{.RestartCount}} {{.HostConfig.RestartPolicy.Name}}';
    expect((await api.cli(['run', '-d', '--name', 'rp1', 'host', 'sh', '-c', script])).exitCode).toBe(0);
    expect((await api.cli(['run', '-d', '--name', 'rp2', '--restart', 'always', 'host', 'sh', '-c', script])).exitCode).toBe(0);
    const cli = await api.cli(['update', '--restart', 'on-failure', 'rp1']);
    expect(cli.exitCode, String(cli.stderr)).toBe(0);
    const viaApi = await api.docker(['update', '--restart', 'no', 'rp2']);
    expect(viaApi.exitCode, viaApi.stderr).toBe(0);
    for (const c of ['rp1', 'rp2']) expect((await api.cli(['exec', c, 'touch', '/tmp/go'])).exitCode).toBe(0);
    // rp1 had no policy and now restarts on its failure; rp2 had always and now stays down
    const restarted = await until(async () => {
      const out = (await api.docker(['inspect', '-f', fmt, 'rp1'])).stdout;
      return Number(out.split(' ')[1]) >= 1 ? out : undefined;
    }, 30_000, 200);
    expect(restarted).toMatch(/ on-failure$/);
    const down = await until(async () => {
      const out = (await api.docker(['inspect', '-f', `${fmt} {{.State.ExitCode}}`, 'rp2'])).stdout;
      return out.startsWith('exited') ? out : undefined;
    }, 30_000, 200);
    expect(down).toBe('exited 0 no 3');
    await sleep(1500); // long enough for the always policy's first restart, had it still applied
    expect((await api.docker(['inspect', '-f', fmt, 'rp2'])).stdout).toBe('exited 0 no');
    // the next start runs with the recorded policy
    expect((await api.cli(['start', 'rp2'])).exitCode).toBe(0);
    expect((await api.docker(['inspect', '-f', '{{.HostConfig.RestartPolicy.Name}}', 'rp2'])).stdout).toBe('no');
    // docker's refusal: a --rm container has no restart policy to update
    expect((await api.cli(['run', '-d', '--rm', '--name', 'rp3', 'host', 'sleep', '60'])).exitCode).toBe(0);
    const rm = await api.docker(['update', '--restart', 'always', 'rp3']);
    expect(rm.exitCode).not.toBe(0);
    expect(rm.stderr).toContain('Restart policy cannot be updated because AutoRemove is enabled for the container');
    await api.cli(['rm', '-f', 'rp1', 'rp2', 'rp3']);
  });

  it('diff shows A, C and D against an imported image (CLI and API)', async () => {
    expect((await api.cli(['import', rootfsTar(), 'rfs'])).exitCode).toBe(0);
    const r = await api.cli(['run', '--name', 'd1', 'rfs', 'sh', '-c', 'rm /etc/old; echo n > /etc/new; echo more >> /etc/keep; mkdir -p /srv/a; echo z > /srv/a/f']);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const want = ['C /etc', 'C /etc/keep', 'A /etc/new', 'D /etc/old', 'A /srv', 'A /srv/a', 'A /srv/a/f'];
    expect(String((await api.cli(['diff', 'd1'])).stdout).split('\n')).toEqual(want);
    const d = await api.docker(['diff', 'd1']);
    expect(d.exitCode, d.stderr).toBe(0);
    expect(d.stdout.split('\n').sort()).toEqual([...want].sort());
    expect((await api.cli(['diff', 't1'])).stderr).toContain('not on an image of layers');
  });

  it('history lists the image steps; commit through the API adds one; export and import through the API', async () => {
    expect((await api.docker(['pull', '-q', `${reg}/test/app:1`])).exitCode).toBe(0);
    const h = await api.docker(['history', '--no-trunc', '--format', '{{.CreatedBy}}|{{.Size}}', `${reg}/test/app:1`]);
    expect(h.exitCode, h.stderr).toBe(0);
    const steps = h.stdout.split('\n');
    expect(steps.length).toBeGreaterThanOrEqual(2);
    expect(steps.every((l) => /\|\d/.test(l))).toBe(true); // each step with its layer's size
    expect(steps.some((l) => !l.endsWith('|0B'))).toBe(true);
    const cli = await api.cli(['history', `${reg}/test/app:1`]);
    expect(String(cli.stdout)).toMatch(/^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT/);
    // a container's change, committed through the API
    expect((await api.docker(['run', '--name', 'c1', `${reg}/test/app:1`, 'sh', '-c', 'echo added > /srv/work/new.txt'])).exitCode).toBe(0);
    const diff = await api.docker(['diff', 'c1']);
    expect(diff.stdout.split('\n')).toContain('A /srv/work/new.txt');
    const commit = await api.docker(['commit', 'c1', 'team/committed:2']);
    expect(commit.exitCode, commit.stderr).toBe(0);
    expect(commit.stdout).toMatch(/^sha256:[0-9a-f]{64}$/);
    const after = await api.docker(['history', '--format', '{{.CreatedBy}}', 'team/committed:2']);
    expect(after.stdout.split('\n')[0]).toBe('codex32 commit');
    expect(after.stdout.split('\n').length).toBe(steps.length + 1);
    expect((await api.docker(['run', '--rm', 'team/committed:2', 'cat', '/srv/work/new.txt'])).stdout).toBe('added');
    // export, then import the tarball as an image
    const tar = join(work, 'c1.tar');
    expect((await api.docker(['export', '-o', tar, 'c1'])).exitCode).toBe(0);
    expect(execFileSync('tar', ['-tf', tar], { encoding: 'utf8' })).toMatch(/srv\/work\/new\.txt/);
    const imp = await api.docker(['import', tar, 'team/imported:1']);
    expect(imp.exitCode, imp.stderr).toBe(0);
    expect(imp.stdout).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect((await api.docker(['run', '--rm', 'team/imported:1', 'cat', '/srv/work/new.txt'])).stdout).toBe('added');
  });

  it('push through the API with X-Registry-Auth, and login through /auth', async () => {
    expect((await api.docker(['tag', 'team/committed:2', `${reg}/team/pushed:1`])).exitCode).toBe(0);
    const push = await api.docker(['push', `${reg}/team/pushed:1`]);
    expect(push.exitCode, push.stderr).toBe(0);
    expect(push.stdout).toMatch(/1: digest: sha256:[0-9a-f]{64} size: \d+/);
    const manifest = await fetch(`http://${reg}/v2/team/pushed/manifests/1`, { headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json' } });
    expect(manifest.status).toBe(200);
    const fake = await fakeRegistry();
    try {
      fake.mode = 'basic';
      const bad = await api.docker(['login', '-u', 'bob', '-p', 'wrong', `127.0.0.1:${fake.port}`]);
      expect(bad.exitCode).toBe(1);
      const ok = await api.docker(['login', '-u', 'bob', '--password-stdin', `127.0.0.1:${fake.port}`], { input: 'secret\n' });
      expect(ok.exitCode, ok.stderr).toBe(0);
      expect(ok.stdout).toContain('Login Succeeded');
    } finally {
      await fake.close();
    }
  });

  it('prunes remove only what they should; system df adds up', async () => {
    await api.cli(['create', '--name', 'keepme', '--label', 'keep=yes', 'host', 'true']);
    await api.cli(['create', '--name', 'old1', 'host', 'true']);
    await api.cli(['run', '-d', '--name', 'live', 'host', 'sleep', '300']);
    const df = await api.cli(['system', 'df']);
    expect(df.exitCode).toBe(0);
    const dfApi = JSON.parse(execFileSync('curl', ['-s', '--unix-socket', api.socket, 'http://d/v1.43/system/df'], { encoding: 'utf8' }));
    expect(dfApi.Containers.length).toBe((await api.docker(['ps', '-aq'])).stdout.split('\n').length);
    expect(dfApi.LayersSize).toBe(dfApi.Images.reduce((n: number, i: { Size: number }) => n + i.Size, 0));
    expect(String(df.stdout)).toMatch(new RegExp(`^Containers\\s+${dfApi.Containers.length}\\s+`, 'm'));
    // label!=keep=yes spares keepme; the running one is never pruned
    const p = await api.docker(['container', 'prune', '-f', '--filter', 'label!=keep=yes']);
    expect(p.exitCode, p.stderr).toBe(0);
    expect(p.stdout).toContain('Total reclaimed space');
    const left = (await api.docker(['ps', '-a', '--format', '{{.Names}}'])).stdout.split('\n').sort();
    expect(left).toEqual(['keepme', 'live']);
    // until in the past spares everything
    await api.cli(['create', '--name', 'new1', 'host', 'true']);
    expect((await api.cli(['container', 'prune', '--filter', 'until=1h'])).exitCode).toBe(0);
    expect((await api.docker(['ps', '-a', '--format', '{{.Names}}'])).stdout.split('\n')).toContain('new1');
    // image prune: dangling only by default (none here), -a takes every unused one but not those in use
    expect((await api.docker(['image', 'prune', '-f'])).stdout).toContain('Total reclaimed space: 0B');
    await api.cli(['run', '-d', '--name', 'user', 'team/committed:2', 'sleep', '300']);
    const all = await api.docker(['image', 'prune', '-a', '-f']);
    expect(all.exitCode, all.stderr).toBe(0);
    const images = (await api.docker(['images', '--format', '{{.Repository}}:{{.Tag}}'])).stdout.split('\n').sort();
    expect(images).toEqual([`${reg}/team/pushed:1`, 'team/committed:2']); // one image, in use, under both its names
    // system prune: the stopped containers go, running ones and their image stay
    const sp = await api.docker(['system', 'prune', '-f']);
    expect(sp.exitCode, sp.stderr).toBe(0);
    expect((await api.docker(['ps', '-a', '--format', '{{.Names}}'])).stdout.split('\n').sort()).toEqual(['live', 'user']);
    expect((await api.cli(['system', 'prune', '-a', '--volumes'])).exitCode).toBe(0);
    const df2 = JSON.parse(execFileSync('curl', ['-s', '--unix-socket', api.socket, 'http://d/system/df'], { encoding: 'utf8' }));
    expect(df2.Containers.length).toBe(2);
    expect(df2.Images.filter((i: { Containers: number }) => i.Containers > 0).length).toBe(1);
  });

  it('stats show the network figures of a container on the private network', async () => {
    // the container's own traffic: a TCP connection attempt to the gateway, refused or not
    await api.cli(['run', '-d', '--name', 'n1', '--network', 'private', 'host', 'sh', '-c', 'for i in 1 2 3; do busybox nc -w 1 "$(ip route | awk \'/default/ {print $3}\')" 9 </dev/null; done; exec sleep 300']);
    await sleep(1000);
    const s = await api.json<Array<{ NetIO: { Rx: number; Tx: number } | null }>>(['stats', '--json', 'n1']);
    expect(s[0]!.NetIO).not.toBeNull();
    expect(s[0]!.NetIO!.Tx + s[0]!.NetIO!.Rx).toBeGreaterThan(0);
    const d = await api.docker(['stats', '--no-stream', '--format', '{{.NetIO}}', 'n1']);
    expect(d.exitCode, d.stderr).toBe(0);
    expect(d.stdout).not.toBe('0B / 0B');
  });

  it('serves API 1.43: a newer docker CLI needs no downgrade, and framed streams are labelled multiplexed from 1.42', async () => {
    expect((await api.docker(['version', '--format', '{{.Server.APIVersion}} {{.Server.MinAPIVersion}}'])).stdout).toBe('1.43 1.12');
    const tooNew = execFileSync('curl', ['-s', '--unix-socket', api.socket, 'http://d/v1.44/version'], { encoding: 'utf8' });
    expect(tooNew).toContain('Maximum supported API version is 1.43');
    await api.cli(['run', '-d', '--name', 'l1', 'host', 'sh', '-c', 'echo out; echo err >&2; exec sleep 300']);
    const contentType = (version: string) =>
      new Promise<string>((resolve, reject) => {
        const req = request({ socketPath: api.socket, path: `/v${version}/containers/l1/logs?stdout=1&stderr=1`, method: 'GET' }, (res) => {
          res.resume();
          resolve(String(res.headers['content-type']));
        });
        req.on('error', reject);
        req.end();
      });
    expect(await contentType('1.43')).toBe('application/vnd.docker.multiplexed-stream');
    expect(await contentType('1.41')).toBe('application/vnd.docker.raw-stream');
    if (existsSync(NEW_DOCKER)) {
      const env = { ...api.dockerEnv };
      const run = (args: string[]) => execFileSync(NEW_DOCKER, args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
      expect(run(['version', '--format', '{{.Client.APIVersion}}'])).toBe('1.43'); // negotiated to ours, no lower
      expect(run(['exec', 'l1', 'sh', '-c', 'echo via-new'])).toBe('via-new');
      expect(run(['logs', 'l1'])).toContain('out');
    }
  });
});
