// A disk quota per container (--storage-opt size): ENOSPC inside past it, the host's disk spent only up to it,
// through the CLI, the Docker API and bot files, and refused where it cannot hold.
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContainerEngine } from '../src/index.js';
import { botIssues, parseBot } from '../src/executor/bot.js';
import { botContainerConfig } from '../src/executor/container.js';
import { manifests } from '../src/executor/kubernetes.js';
import { checkQuota, quotaSupport, quotaSupportOf, unmountQuota } from '../src/runtime/quota.js';
import { DOCKER, dockerApi, type DockerApi } from './dockerapi-helpers.js';
import { missing, sandbox } from './helpers.js';

const MB = 1024 * 1024;
const sb = sandbox('c32-quota-');
const { cli } = sb;
const support = quotaSupport();
const skip = missing({ strict: true }) ?? (support.mechanism === 'none' ? `no disk quota mechanism here: missing ${support.missing}` : undefined);
const skipApi = skip ?? (process.env.CI === 'true' || existsSync(DOCKER) ? undefined : `missing ${DOCKER} (scripts/test-setup.sh installs it)`);

/** Host bytes the container's quota image really takes (its allocated blocks: the file is sparse). */
const imageBytes = (id: string) => statSync(join(sb.storage, 'containers', id, 'disk.img')).blocks * 512;
/** Write mb MiB of zeros to path inside the container, then echo the shell's status: 0, or non-zero at ENOSPC. */
const fill = (path: string, mb: number) => `head -c ${mb * MB} /dev/zero > ${path}; echo "rc=$?"`;

beforeAll(async () => {
  if (skip) return;
  // a one-layer OCI image, whose root is the container's writable layer
  const root = join(sb.storage, 'rootfs');
  mkdirSync(join(root, 'bin'), { recursive: true });
  mkdirSync(join(root, 'srv'));
  copyFileSync('/bin/busybox', join(root, 'bin', 'busybox'));
  chmodSync(join(root, 'bin', 'busybox'), 0o755);
  for (const t of ['sh', 'head', 'cat', 'sleep', 'df', 'rm', 'wc']) symlinkSync('busybox', join(root, 'bin', t));
  writeFileSync(join(root, 'srv', 'user.txt'), 'mine\n');
  chownSync(join(root, 'srv', 'user.txt'), 1000, 1000);
  execFileSync('tar', ['-C', root, '--numeric-owner', '-cf', join(sb.storage, 'img.tar'), '.']);
  const engine = new ContainerEngine({ storageDir: sb.storage, isolation: 'standard' });
  try {
    await engine.image.importTar(join(sb.storage, 'img.tar'), 'tiny:1');
  } finally {
    engine.close();
  }
}, 120_000);

afterAll(() => sb.clean());

describe.skipIf(!!skip)('--storage-opt size through the CLI', () => {
  it('bounds /app at standard and strict: within the quota is fine, past it ENOSPC, the host file no bigger than the quota', async () => {
    for (const level of ['standard', 'strict']) {
      const name = `app-${level}`;
      const r = await cli(['run', '--name', name, '--isolation', level, '--storage-opt', 'size=32m', 'host', 'sh', '-c', `${fill('/app/a', 8)}; ${fill('/app/b', 40)}`]);
      expect(r.stdout, String(r.stderr)).toMatch(/^rc=0\nrc=[1-9]/);
      expect(r.stderr).toContain('No space left on device');
      const id = (await sb.inspect(name)).Id as string;
      expect(imageBytes(id)).toBeLessThanOrEqual(33 * MB); // the host gave at most the quota (and a little of its own)
      expect((await cli(['rm', name])).exitCode).toBe(0);
    }
  });

  it('bounds the writable layer of an image\'s root, and keeps its files across a stop, an unmount (a host restart) and a start', async () => {
    expect((await cli(['run', '-d', '--name', 'layer', '--storage-opt', 'size=24m', 'tiny:1', 'sleep', '300'])).exitCode).toBe(0);
    const r = await cli(['exec', 'layer', 'sh', '-c', `${fill('/srv/keep', 4)}; ${fill('/srv/big', 40)}; rm /srv/big`]);
    expect(r.stdout, String(r.stderr)).toMatch(/^rc=0\nrc=[1-9]/);
    expect((await sb.inspect('layer')).HostConfig.StorageOpt).toEqual({ size: String(24 * MB) });
    const id = (await sb.inspect('layer')).Id as string;
    expect((await cli(['stop', '-t', '0', 'layer'])).exitCode).toBe(0);
    await unmountQuota(join(sb.storage, 'containers', id)); // what a reboot does to it
    expect(existsSync(join(sb.storage, 'containers', id, 'upper', 'srv'))).toBe(false);
    // a copy into the stopped container mounts it again first: the file lands inside the quota
    writeFileSync(join(sb.storage, 'in.txt'), 'copied\n');
    expect((await cli(['cp', join(sb.storage, 'in.txt'), 'layer:/srv/in.txt'])).exitCode).toBe(0);
    expect(existsSync(join(sb.storage, 'containers', id, 'layer', 'upper', 'srv', 'in.txt'))).toBe(true);
    await unmountQuota(join(sb.storage, 'containers', id));
    expect((await cli(['start', 'layer'])).exitCode).toBe(0);
    const after = await cli(['exec', 'layer', 'sh', '-c', 'head -c 10 /srv/keep | wc -c; cat /srv/user.txt /srv/in.txt']);
    expect(String(after.stdout).split('\n')).toEqual(['10', 'mine', 'copied']);
    expect((await cli(['rm', '-f', 'layer'])).exitCode).toBe(0);
    // removal unmounted it: no mount of the container's directory is left
    expect(execFileSync('findmnt', ['-rn', '-o', 'TARGET'], { encoding: 'utf8' })).not.toContain(id);
  });

  it('refuses the quota at minimal naming the level, a size below 16m, and any other storage option', async () => {
    const minimal = await cli(['create', '--isolation', 'minimal', '--storage-opt', 'size=32m', 'host', 'true']);
    expect(minimal.exitCode).toBe(125);
    expect(minimal.stderr).toMatch(/minimal isolation does not have/);
    const small = await cli(['create', '--storage-opt', 'size=1m', 'host', 'true']);
    expect(small.stderr).toMatch(/Expected `--storage-opt size` to be at least 16m/);
    const other = await cli(['create', '--storage-opt', 'dm.basesize=1g', 'host', 'true']);
    expect(other.stderr).toMatch(/Expected `--storage-opt` to be size=SIZE/);
    expect(String((await cli(['ps', '-aq'])).stdout)).toBe(''); // nothing half made
  });

  it('takes storageSize through the library, refusing it at minimal by the level', async () => {
    const engine = new ContainerEngine({ storageDir: sb.storage, isolation: 'standard' });
    try {
      const { id } = await engine.create({ image: 'host', name: 'lib', isolation: 'strict', storageSize: 20 * MB, command: ['sh', '-c', `${fill('/app/x', 30)}`] });
      await engine.start(id);
      expect(await engine.wait(id)).toBe(0); // the shell itself ends well; its output says how the write ended
      expect(await cli(['logs', 'lib'])).toMatchObject({ stdout: expect.stringMatching(/rc=[1-9]/) });
      await expect(engine.create({ image: 'host', isolation: 'minimal', storageSize: 20 * MB, command: ['true'] })).rejects.toThrow(/minimal isolation does not have/);
      await engine.remove(id, { force: true });
    } finally {
      engine.close();
    }
  });

  it('says in `codex32 info` which mechanism the host offers', async () => {
    expect(String((await cli(['info'])).stdout)).toMatch(/Disk quota: +loop-mounted ext4 per container/);
  });
});

describe('the quota\'s refusals that need no host', () => {
  it('refuses a quota on a host without the mechanism, saying what is missing', () => {
    const none = quotaSupportOf({ root: true, loopControl: false, filesystems: 'nodev\tproc\n\text4\n', hasTool: (t) => t !== 'mkfs.ext4' });
    expect(none).toEqual({ mechanism: 'none', missing: expect.stringMatching(/loop devices.*mkfs\.ext4/) });
    expect(() => checkQuota('standard', 32 * MB, none)).toThrow(/needs a quota mechanism, and this host has none: missing loop devices/);
    expect(() => checkQuota('standard', undefined, none)).not.toThrow(); // no quota asked: nothing to refuse
    expect(quotaSupportOf({ root: true, loopControl: true, filesystems: '\text4\n', hasTool: () => true }).mechanism).toBe('loop-ext4');
  });

  it('takes storage_size in a bot file: a container\'s quota, a pod\'s ephemeral-storage, refused for LOCAL_PROCESS', () => {
    expect(botIssues({ name: 'b', script: 'b.py', deployment: { storage_size: '64m' } })).toEqual([]);
    expect(botIssues({ name: 'b', script: 'b.py', deployment: { type: 'LOCAL_PROCESS', storage_size: '64m' } }).join('\n')).toMatch(/deployment\.storage_size: Expected no storage_size for LOCAL_PROCESS/);
    const pod = JSON.stringify(manifests(parseBot({ name: 'b', image: 'team/bot:1', deployment: { type: 'KUBERNETES_POD', storage_size: '64m' } })));
    expect(pod).toContain('"ephemeral-storage":"64Mi"');
    expect(botContainerConfig(parseBot({ name: 'b', image: 'team/bot:1', deployment: { storage_size: '64m' } })).storageSize).toBe(64 * MB);
  });
});

describe.skipIf(!!skipApi)('HostConfig.StorageOpt through the Docker API', () => {
  let api: DockerApi;
  beforeAll(async () => {
    api = await dockerApi('c32-quota-api-');
  }, 60_000);
  afterAll(async () => {
    await api?.stop();
  });

  it('bounds a container the docker CLI makes with --storage-opt size, shows it in inspect, refuses other options', async () => {
    const r = await api.docker(['run', '--name', 'q', '--network', 'none', '--storage-opt', 'size=32M', 'host', 'sh', '-c', `${fill('/app/a', 8)}; ${fill('/app/b', 40)}`]);
    expect(r.stdout, r.stderr).toMatch(/^rc=0\nrc=[1-9]/);
    expect(r.stderr).toContain('No space left on device');
    expect(JSON.parse((await api.docker(['inspect', '--format', '{{json .HostConfig.StorageOpt}}', 'q'])).stdout)).toEqual({ size: String(32 * MB) });
    const bad = await api.docker(['create', '--storage-opt', 'dm.basesize=1G', 'host', 'true']);
    expect(bad.exitCode).not.toBe(0);
    expect(bad.stderr).toContain('HostConfig.StorageOpt dm.basesize');
  });
});
