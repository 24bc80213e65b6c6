// OCI images with real tools: buildah builds, docker-registry serves, skopeo and podman read and write archives.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, truncateSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseBot } from '../src/executor/bot.js';
import { validatedManifests } from '../src/executor/kubernetes.js';
import { freePort } from '../src/runtime/ports.js';
import { buildImages, fakeRegistry, rawTar, sha, type RawEntry } from './fixtures/oci.js';
import { missing, sandbox, until } from './helpers.js';

const sb = sandbox('c32-images-');
const { cli } = sb;
const work = join(sb.storage, 'work');
mkdirSync(work);
const tools = ['docker-registry', 'buildah', 'skopeo', 'podman'].filter((t) => {
  try {
    execFileSync('sh', ['-c', `command -v ${t}`]);
    return false;
  } catch {
    return true;
  }
});
const skip = missing({ standard: true }) ?? (tools.length && process.env.CI !== 'true' ? `missing ${tools.join(', ')} (scripts/test-setup.sh installs them)` : undefined);

let registry: ChildProcess | undefined;
let reg = '';
let buildah: string[] = [];
let fake: Awaited<ReturnType<typeof fakeRegistry>>;
const podman = () => ['--root', join(work, 'root'), '--runroot', join(work, 'run'), '--storage-driver', 'vfs'];
const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const storeFiles = () => ['blobs/sha256', 'layers'].flatMap((d) => (existsSync(join(sb.storage, 'oci', d)) ? readdirSync(join(sb.storage, 'oci', d)) : []));

beforeAll(async () => {
  if (skip) return;
  const port = await freePort();
  reg = `127.0.0.1:${port}`;
  const cfg = join(work, 'registry.yml');
  writeFileSync(cfg, `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${join(work, 'registry')}\n  delete:\n    enabled: true\nhttp:\n  addr: ${reg}\n`);
  registry = spawn('docker-registry', ['serve', cfg], { stdio: 'ignore' });
  buildah = buildImages(work);
  await until(async () => (await fetch(`http://${reg}/v2/`).catch(() => undefined))?.ok, 20_000);
  for (const n of ['app', 'base']) sh(buildah[0], [...buildah.slice(1), 'push', '--tls-verify=false', `localhost/${n}:1`, `docker://${reg}/test/${n}:1`]);
  fake = await fakeRegistry();
}, 300_000);

afterAll(async () => {
  registry?.kill('SIGTERM');
  await fake?.close();
  await sb.clean();
});

describe.skipIf(!!skip)('OCI images from real tools', () => {
  it('pulls a multi-layer image from docker-registry and runs it with its ENV, WORKDIR and CMD', async () => {
    const p = await cli(['pull', `${reg}/test/app:1`]);
    expect(p.exitCode, String(p.stderr)).toBe(0);
    expect(p.stdout).toMatch(/Image: sha256:[a-f0-9]{64}/);
    expect(p.stderr).toMatch(/done/); // plain progress lines when not on a terminal
    const list = await cli(['images']);
    expect(list.stdout).toMatch(new RegExp(`${reg}/test/app\\s+1\\s+[a-f0-9]{12}`));
    for (const level of ['standard', 'strict']) {
      const r = await cli(['run', '--rm', '--isolation', level, `${reg}/test/app:1`]);
      expect(r.exitCode, String(r.stderr)).toBe(0);
      const [env, cwd, ...etc] = String(r.stdout).split('\n');
      expect(env).toBe('hello from env');
      expect(cwd).toBe('/srv/work');
      expect(etc).toContain('kept.txt');
      expect(etc).not.toContain('gone.txt'); // deleted by the upper layer's whiteout
    }
    // a command replaces Cmd; --entrypoint replaces Entrypoint and drops Cmd; -e and -w win over the image
    const o = await cli(['run', '--rm', '-e', 'GREETING=mine', '-w', '/etc', `${reg}/test/app:1`, 'sh', '-c', 'echo $GREETING $(pwd) $HOME']);
    expect(o.stdout).toBe('mine /etc /root');
    const e = await cli(['run', '--rm', '--entrypoint', 'cat', `${reg}/test/app:1`, '/srv/work/data.txt']);
    expect(e.stdout).toBe('layer two');
    const insp = JSON.parse(String((await cli(['image', 'inspect', `${reg}/test/app:1`])).stdout))[0];
    expect(insp.Config.Env).toContain('GREETING=hello from env');
    expect(insp.Config.Labels.team).toBe('bots');
    expect(insp.RootFS.Layers).toHaveLength(2);
    const c = await cli(['create', '--name', 'pinned', `${reg}/test/app:1`, 'sleep', '60']);
    expect(c.exitCode, String(c.stderr)).toBe(0);
    const ci = await sb.inspect('pinned');
    expect(ci.Config.Labels.team).toBe('bots');
    expect(ci.Config.StopSignal).toBe(2);
    expect(ci.Config.ExposedPorts).toEqual({ '8080/tcp': {} });
    expect((await cli(['start', 'pinned'])).exitCode).toBe(0);
    await until(async () => (await sb.inspect('pinned')).State.Health?.Status === 'healthy', 30_000); // the image's HEALTHCHECK
    await cli(['stop', '-t', '1', 'pinned']);
  });

  it('runs a bot that names an image, and gives Kubernetes that image with no ConfigMap', async () => {
    const file = join(work, 'bots.yaml');
    writeFileSync(file, `bots:\n  - name: imgbot\n    image: ${reg}/test/app:1\n    args: [sh, -c, 'echo bot says $GREETING']\n`);
    const a = await cli(['bot', 'apply', '--no-start', file]);
    expect(a.exitCode, String(a.stderr)).toBe(0);
    expect((await cli(['bot', 'run', 'imgbot'])).exitCode).toBe(0);
    await until(async () => String((await cli(['bot', 'logs', 'imgbot'])).stdout).includes('bot says hello from env'), 30_000);
    const list = (await validatedManifests(parseBot({ name: 'imgpod', image: `${reg}/test/app:1`, args: ['serve'], deployment: { type: 'KUBERNETES_POD', restart: 'always' } }))) as any[];
    expect(list.map((x: { kind: string }) => x.kind)).toEqual(['Deployment']);
    const ctr = list[0].spec.template.spec.containers[0];
    expect(ctr).toMatchObject({ image: `${reg}/test/app:1`, args: ['serve'] });
    expect(ctr.command).toBeUndefined();
    expect(list[0].spec.template.spec.volumes).toBeUndefined();
    expect((await cli(['bot', 'rm', 'imgbot'])).exitCode).toBe(0);
    expect(() => parseBot({ name: 'both', image: 'a:1', script: '/x.py' })).toThrow(/exactly one of/);
    expect(() => parseBot({ name: 'local', image: 'a:1', deployment: { type: 'LOCAL_PROCESS' } })).toThrow(/LOCAL_PROCESS/);
  });

  it('loads a podman save archive and a skopeo oci-archive, and shares their layers', async () => {
    const dockerArchive = join(work, 'podman.tar');
    const ociArchive = join(work, 'skopeo-oci.tar');
    sh('podman', [...podman(), 'pull', '-q', '--tls-verify=false', `${reg}/test/app:1`]);
    sh('podman', [...podman(), 'save', '-o', dockerArchive, `${reg}/test/app:1`]);
    sh('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${reg}/test/app:1`, `oci-archive:${ociArchive}:${reg}/test/oci:2`]);
    const before = storeFiles().length;
    const a = await cli(['load', '-i', dockerArchive]);
    expect(a.exitCode, String(a.stderr)).toBe(0);
    expect(a.stdout).toContain(`Loaded image: ${reg}/test/app:1`);
    const b = await cli(['load', '-i', ociArchive]);
    expect(b.exitCode, String(b.stderr)).toBe(0);
    expect(b.stdout).toContain(`Loaded image: ${reg}/test/oci:2`);
    // same layers as the pulled image: podman's archive holds uncompressed layers (new blobs), but not one new unpacked layer
    expect(readdirSync(join(sb.storage, 'oci', 'layers'))).toHaveLength(2);
    expect(storeFiles().length).toBeGreaterThanOrEqual(before);
    const r = await cli(['run', '--rm', `${reg}/test/oci:2`]);
    expect(String(r.stdout).split('\n')[0]).toBe('hello from env');
  });

  it('saves a docker-archive that podman loads, and pushes to docker-registry', async () => {
    const out = join(work, 'saved.tar');
    const s = await cli(['save', '-o', out, `${reg}/test/app:1`]);
    expect(s.exitCode, String(s.stderr)).toBe(0);
    const other = ['--root', join(work, 'root2'), '--runroot', join(work, 'run2'), '--storage-driver', 'vfs'];
    expect(sh('podman', [...other, 'load', '-i', out])).toContain(`${reg}/test/app:1`);
    const id = JSON.parse(String((await cli(['image', 'inspect', `${reg}/test/app:1`])).stdout))[0].Id;
    expect(sh('podman', [...other, 'image', 'inspect', '--format', '{{.Id}}', `${reg}/test/app:1`]).trim()).toBe(id.slice(7));
    expect((await cli(['tag', `${reg}/test/app:1`, `${reg}/test/copy:2`])).exitCode).toBe(0);
    const p = await cli(['push', `${reg}/test/copy:2`]);
    expect(p.exitCode, String(p.stderr)).toBe(0);
    const remote = JSON.parse(sh('skopeo', ['inspect', '--tls-verify=false', `docker://${reg}/test/copy:2`]));
    expect(p.stdout).toContain(remote.Digest);
  });

  it("commits a container's changes as a new layer, whiteouts included", async () => {
    const r = await cli(['run', '--name', 'changer', `${reg}/test/app:1`, 'sh', '-c', 'rm /etc/kept.txt; echo new > /new.txt']);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const c = await cli(['commit', 'changer', 'test/committed:1']);
    expect(c.exitCode, String(c.stderr)).toBe(0);
    const o = await cli(['run', '--rm', 'test/committed:1', 'sh', '-c', 'ls /etc; cat /new.txt; echo $GREETING']);
    const lines = String(o.stdout).split('\n');
    expect(lines).toContain('passwd');
    expect(lines).not.toContain('kept.txt');
    expect(lines.slice(-2)).toEqual(['new', 'hello from env']);
    expect(JSON.parse(String((await cli(['image', 'inspect', 'test/committed:1'])).stdout))[0].RootFS.Layers).toHaveLength(3);
    await cli(['rm', '-f', 'changer']);
    expect((await cli(['rmi', 'test/committed:1'])).stdout).toContain('Deleted');
  });

  it('refuses rmi while a container uses the image, and removes layers only when nothing uses them', async () => {
    const id = JSON.parse(String((await cli(['image', 'inspect', `${reg}/test/app:1`])).stdout))[0].Id.slice(7, 19);
    const r = await cli(['rmi', id]);
    expect(r.exitCode).toBe(125);
    expect(r.stderr).toContain('IMAGE_IN_USE');
    await cli(['rm', '-f', 'pinned']);
    expect((await cli(['pull', `${reg}/test/base:1`])).exitCode).toBe(0);
    expect(readdirSync(join(sb.storage, 'oci', 'layers'))).toHaveLength(2); // the base layer is shared, not unpacked twice
    let out = '';
    for (const t of ['copy:2', 'app:1', 'oci:2']) {
      const r = await cli(['rmi', `${reg}/test/${t}`]);
      expect(String(r.stdout)).toContain(`Untagged: ${reg}/test/${t}`);
      out += r.stdout;
    }
    expect(out).toContain('Deleted: sha256:');
    expect(readdirSync(join(sb.storage, 'oci', 'layers'))).toHaveLength(1); // the base image still uses its layer
    expect((await cli(['rmi', `${reg}/test/base:1`])).exitCode).toBe(0);
    expect(readdirSync(join(sb.storage, 'oci', 'layers'))).toHaveLength(0);
    const shifted = join(sb.storage, 'oci', 'layers-shifted'); // none at all where strict's layers are idmapped
    expect(existsSync(shifted) ? readdirSync(shifted) : []).toHaveLength(0); // strict's copies go with their layers
    expect(readdirSync(join(sb.storage, 'oci', 'blobs', 'sha256'))).toHaveLength(0);
  });

  it('run and create pull an image reference that is not stored (--pull missing), always, or never, as docker does', async () => {
    const base = `${reg}/test/base:1`;
    const run = await cli(['run', '--rm', '--network', 'none', base, 'cat', '/etc/kept.txt']);
    expect([run.exitCode, String(run.stdout)], String(run.stderr)).toEqual([0, 'kept']);
    expect(String(run.stderr)).toContain(`Unable to find image '${base}' locally`);
    // stored now: no pull, no message
    const again = await cli(['run', '--rm', '--network', 'none', base, 'true']);
    expect([again.exitCode, String(again.stderr)]).toEqual([0, '']);
    // always: the registry is asked again (its blobs already present)
    const always = await cli(['create', '--pull', 'always', '--network', 'none', base, 'true']);
    expect(always.exitCode, String(always.stderr)).toBe(0);
    expect(String(always.stderr)).toMatch(/already present|done/);
    // never: a reference not stored is refused, and nothing asks the registry
    const never = await cli(['run', '--rm', '--pull', 'never', `${reg}/test/app:1`, 'true']);
    expect([never.exitCode, String(never.stderr)]).toEqual([125, expect.stringContaining('NO_SUCH_IMAGE')]);
    expect(String(never.stderr)).not.toContain('Unable to find image');
    const bad = await cli(['run', '--rm', '--pull', 'sometimes', base, 'true']);
    expect([bad.exitCode, String(bad.stderr)]).toEqual([125, expect.stringContaining('Expected `--pull` to be missing, always or never')]);
    // a name that is a file here is never sent to a registry
    writeFileSync(join(work, 'mybot.py'), 'print(1)\n');
    const local = await sb.cli(['run', '--rm', 'mybot.py'], { cwd: work });
    expect(String(local.stderr)).not.toContain('Unable to find image');
    await cli(['rm', '-f', String(always.stdout).trim()]);
    expect((await cli(['rmi', base])).exitCode).toBe(0);
  });
});

/** A docker-archive holding one layer made of entries. */
function hostileArchive(name: string, entries: RawEntry[]): string {
  const layer = rawTar(entries);
  const config = JSON.stringify({ architecture: process.arch === 'x64' ? 'amd64' : process.arch, os: 'linux', rootfs: { type: 'layers', diff_ids: [sha(layer)] } });
  const dir = join(work, `${name}-src`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'layer.tar'), layer);
  writeFileSync(join(dir, 'config.json'), config);
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify([{ Config: 'config.json', RepoTags: [`bad/${name}:1`], Layers: ['layer.tar'] }]));
  const file = join(work, `${name}.tar`);
  sh('tar', ['-cf', file, '-C', dir, 'manifest.json', 'config.json', 'layer.tar']);
  return file;
}

describe.skipIf(!!skip)('bad images are refused with nothing half-registered', () => {
  it('refuses traversal, absolute names, hard links out and truncated archives; device nodes only where strict forbids them', async () => {
    const cases: Array<[string, RawEntry[]]> = [
      ['dotdot', [{ name: '../../escape.txt', data: 'x' }]],
      ['absolute', [{ name: '/etc/evil', data: 'x' }]],
      ['hardlink', [{ name: 'shadow', type: '1', link: '../../../etc/shadow' }]],
      ['through-symlink', [{ name: 'etc', type: '2', link: '/etc' }, { name: 'etc/cron.d/x', data: 'x' }]],
    ];
    for (const [name, entries] of cases) {
      const r = await cli(['load', '-i', hostileArchive(name, entries)]);
      expect(r.exitCode, name).toBe(125);
      expect(r.stderr, name).toMatch(/INVALID_IMAGE/);
    }
    expect(existsSync(join(work, '..', 'escape.txt'))).toBe(false);
    const good = join(work, 'podman.tar');
    const cut = join(work, 'truncated.tar');
    copyFileSync(good, cut);
    truncateSync(cut, Math.floor(statSync(good).size / 2));
    const t = await cli(['load', '-i', cut]);
    expect(t.exitCode).toBe(125);
    expect(t.stderr).toMatch(/truncated/);
    expect((await cli(['images', '-q'])).stdout).toBe('');
    expect(storeFiles()).toEqual([]);

    const dev = await cli(['load', '-i', hostileArchive('device', [{ name: 'bin/', type: '5' }, { name: 'null2', type: '3', devmajor: 1, devminor: 3 }])]);
    expect(dev.exitCode, String(dev.stderr)).toBe(0);
    const strict = await cli(['create', '--isolation', 'strict', 'bad/device:1', 'true']);
    expect(strict.exitCode).toBe(125);
    expect(strict.stderr).toContain('device node');
    expect((await cli(['rmi', 'bad/device:1'])).exitCode).toBe(0);
  });

  it('refuses a registry that answers 401, 404, 500, garbage, a tampered blob or only another platform, and follows a token and a redirect', async () => {
    const ref = `127.0.0.1:${fake.port}/team/tiny:1`;
    const expectations: Array<[typeof fake.mode, RegExp]> = [
      ['401', /REGISTRY_UNAUTHORIZED/],
      ['404', /NO_SUCH_IMAGE/],
      ['500', /REGISTRY_ERROR/],
      ['garbage', /INVALID_IMAGE/],
      ['tampered', /DIGEST_MISMATCH/],
      ['platform', /PLATFORM_MISMATCH/],
    ];
    for (const [mode, err] of expectations) {
      fake.mode = mode;
      const r = await cli(['pull', ref]);
      expect(r.exitCode, mode).toBe(125);
      expect(r.stderr, mode).toMatch(err);
      expect(r.stderr).not.toMatch(/at .*\.js/); // no stack trace
    }
    expect(storeFiles()).toEqual([]);
    fake.mode = 'bearer'; // an anonymous token, then blobs redirected to storage on another host
    const ok = await cli(['pull', ref]);
    expect(ok.exitCode, String(ok.stderr)).toBe(0);
    expect(JSON.parse(String((await cli(['image', 'inspect', ref])).stdout))[0].Config.Cmd).toEqual(['/bin/sh']);
    expect((await cli(['rmi', ref])).exitCode).toBe(0);
  });

  it('logs in with basic credentials kept readable by root only, and logs out', async () => {
    fake.mode = 'basic';
    const server = `127.0.0.1:${fake.port}`;
    expect((await cli(['login', '-u', 'bob', '-p', 'wrong', server])).stderr).toContain('REGISTRY_UNAUTHORIZED');
    const r = await cli(['login', '-u', 'bob', '--password-stdin', server], { input: 'secret\n' });
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const auth = join(sb.storage, 'auth.json');
    expect(statSync(auth).mode & 0o777).toBe(0o600);
    expect(readFileSync(auth, 'utf8')).toContain(Buffer.from('bob:secret').toString('base64'));
    expect((await cli(['logout', server])).exitCode).toBe(0);
    expect(existsSync(auth)).toBe(false);
  });
});
