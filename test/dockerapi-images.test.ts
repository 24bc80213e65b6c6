// Images through the Docker API with the docker CLI: pull from a loopback docker-registry, images, tag,
// save and load, rmi (refused while used), and `docker run` pulling an image it does not have.
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loopbackRegistry } from './fixtures/oci.js';
import { DOCKER, dockerApi, type DockerApi } from './dockerapi-helpers.js';
import { missing } from './helpers.js';

const tools = ['/usr/bin/docker-registry', '/usr/bin/buildah', DOCKER].filter((t) => !existsSync(t));
const skip = missing({ standard: true }) ?? (process.env.CI === 'true' || !tools.length ? undefined : `missing ${tools.join(', ')} (scripts/test-setup.sh installs them)`);
const work = mkdtempSync(join(tmpdir(), 'c32-dapi-img-'));
let api: DockerApi;
let stopRegistry = () => undefined as void;
let reg = '';

beforeAll(async () => {
  if (skip) return;
  ({ reg, stop: stopRegistry } = await loopbackRegistry(work));
  api = await dockerApi('c32-dapi-img-');
}, 300_000);
afterAll(async () => {
  await api?.stop();
  stopRegistry();
  rmSync(work, { recursive: true, force: true });
});

describe.skipIf(!!skip)('images through the Docker API', () => {
  it('pulls, lists, tags, runs, saves, loads and removes images with the docker CLI', async () => {
    const ref = `${reg}/test/app:1`;
    const p = await api.docker(['pull', ref]);
    expect(p.exitCode, p.stderr).toBe(0);
    expect(p.stdout).toContain('Pull complete');
    expect(p.stdout).toContain(`Status: Downloaded newer image for ${ref}`);
    const imgs = await api.docker(['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}']);
    expect(imgs.stdout).toMatch(new RegExp(`^${reg}/test/app:1 [0-9a-f]{12}$`, 'm'));
    const insp = JSON.parse((await api.docker(['image', 'inspect', ref])).stdout)[0];
    expect(insp.Config.Env).toContain('GREETING=hello from env');
    expect((await api.docker(['tag', ref, 'mine:2'])).exitCode).toBe(0);
    const r = await api.docker(['run', '--rm', 'mine:2']); // the image's Cmd, Env and WorkingDir
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout.split('\n').slice(0, 2)).toEqual(['hello from env', '/srv/work']);
    const archive = join(work, 'saved.tar');
    expect((await api.docker(['save', '-o', archive, 'mine:2'])).exitCode).toBe(0);
    expect(statSync(archive).size).toBeGreaterThan(100_000);
    expect((await api.docker(['rmi', 'mine:2'])).stdout).toContain('Untagged: docker.io/library/mine:2');
    const l = await api.docker(['load', '-i', archive]);
    expect(l.exitCode, l.stderr).toBe(0);
    expect(l.stdout).toContain('Loaded image: docker.io/library/mine:2');
    // as with docker: a name goes, but the image's last name is kept while a container uses it
    expect((await api.docker(['create', '--name', 'user', 'mine:2'])).exitCode).toBe(0);
    expect((await api.docker(['rmi', ref])).stdout).toContain(`Untagged: ${ref}`);
    const busy = await api.docker(['rmi', 'mine:2']);
    expect(busy.exitCode).toBe(1);
    expect(busy.stderr).toMatch(/user/);
    expect((await api.docker(['rm', 'user'])).exitCode).toBe(0);
    expect((await api.docker(['rmi', 'mine:2'])).exitCode).toBe(0);
    expect((await api.docker(['images', '-q'])).stdout).toBe('');
    const gone = await api.docker(['image', 'inspect', ref]);
    expect(gone.stderr).toContain(`No such image: ${ref}`);
  }, 180_000);

  it('pulls an image that `docker run` does not have, after the 404 of create', async () => {
    const ref = `${reg}/test/app:1`;
    const r = await api.docker(['run', '--rm', ref, 'sh', '-c', 'echo pulled and ran']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain(`Unable to find image '${ref}' locally`);
    expect(r.stdout).toContain('pulled and ran');
    const bad = await api.docker(['run', '--rm', `${reg}/test/absent:1`, 'true']);
    expect(bad.exitCode).toBe(125);
    expect(bad.stderr).toMatch(/absent/);
    expect((await api.docker(['ps', '-aq'])).stdout).toBe('');
  }, 120_000);
});
