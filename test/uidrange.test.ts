// Strict containers each on a host uid range of their own: seen from the host, reused after removal, kept by system repair.
import { execFileSync } from 'node:child_process';
import { chownSync, chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContainerEngine } from '../src/index.js';
import { layerIdmap } from '../src/runtime/idmap.js';
import { ID_RANGE_SIZE, ID_RANGE_START } from '../src/state/idranges.js';
import { missing, sandbox } from './helpers.js';

const sb = sandbox('c32-uidrange-');
const { cli } = sb;
const skip = missing({ strict: true }) ?? (existsSync('/bin/busybox') ? undefined : 'no static /bin/busybox to build the test image from');

/** The host uid and gid of a container's main process, read from the host's /proc. */
async function hostIds(name: string): Promise<{ uid: number; gid: number }> {
  const pid = (await sb.inspect(name)).State.Pid as number;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(status)![1]);
  return { uid: field('Uid'), gid: field('Gid') };
}

/** The range (its first host id) a uid falls in. */
const rangeOf = (uid: number) => uid - ((uid - ID_RANGE_START) % ID_RANGE_SIZE);

beforeAll(async () => {
  if (skip) return;
  // a one-layer OCI image whose files have several owners and a root-only file
  const root = join(sb.storage, 'rootfs');
  mkdirSync(join(root, 'bin'), { recursive: true });
  mkdirSync(join(root, 'srv'));
  copyFileSync('/bin/busybox', join(root, 'bin', 'busybox'));
  chmodSync(join(root, 'bin', 'busybox'), 0o755);
  for (const t of ['sh', 'cat', 'stat', 'id', 'sleep', 'touch']) symlinkSync('busybox', join(root, 'bin', t));
  writeFileSync(join(root, 'srv', 'user.txt'), 'mine\n');
  chownSync(join(root, 'srv', 'user.txt'), 1000, 1000);
  writeFileSync(join(root, 'srv', 'root.txt'), 'secret\n', { mode: 0o600 });
  execFileSync('tar', ['-C', root, '--numeric-owner', '-cf', join(sb.storage, 'img.tar'), '.']);
  const engine = new ContainerEngine({ storageDir: sb.storage, isolation: 'standard' });
  try {
    await engine.image.importTar(join(sb.storage, 'img.tar'), 'tiny:1');
  } finally {
    engine.close();
  }
}, 120_000);

afterAll(() => sb.clean());

describe.skipIf(!!skip)('strict: a host uid range per container', () => {
  it('gives two live strict containers disjoint host ranges, seen in /proc/PID/status from the host', async () => {
    for (const n of ['r1', 'r2']) expect((await cli(['run', '-d', '--name', n, '--isolation', 'strict', 'tiny:1', 'sleep', '300'])).exitCode).toBe(0);
    const [a, b] = [await hostIds('r1'), await hostIds('r2')];
    for (const ids of [a, b]) {
      expect(ids.uid).toBeGreaterThanOrEqual(ID_RANGE_START);
      expect(ids.gid).toBe(ids.uid); // container root: the first id of its range
    }
    expect(Math.abs(a.uid - b.uid)).toBeGreaterThanOrEqual(ID_RANGE_SIZE); // no host uid in common
    // inspect says the range, as podman does
    expect((await sb.inspect('r1')).HostConfig.IDMappings).toEqual({ UidMap: [`0:${a.uid}:${ID_RANGE_SIZE}`], GidMap: [`0:${a.gid}:${ID_RANGE_SIZE}`] });
  });

  it('keeps image files readable and owned as in the image, inside each range', async () => {
    for (const n of ['r1', 'r2']) {
      const r = await cli(['exec', n, 'sh', '-c', 'stat -c "%u:%g %n" /srv/user.txt /srv/root.txt; cat /srv/root.txt; touch /tmp/new && stat -c %u /tmp/new']);
      expect(r.exitCode, String(r.stderr)).toBe(0);
      expect(String(r.stdout).split('\n')).toEqual(['1000:1000 /srv/user.txt', '0:0 /srv/root.txt', 'secret', '0']);
    }
  });

  it.skipIf(layerIdmap().mode !== 'idmapped')('shares the image\'s own layers through idmapped mounts: no copy per range', () => {
    expect(existsSync(join(sb.storage, 'oci', 'layers-shifted')) ? readdirSync(join(sb.storage, 'oci', 'layers-shifted')) : []).toEqual([]);
  });

  it('gives each range a shifted copy of the layers where idmapped mounts are not used (CODEX32_IDMAPPED_LAYERS=0), kept for the range\'s next holder', async () => {
    const copy = { env: { ...sb.env, CODEX32_IDMAPPED_LAYERS: '0' } };
    const shifted = join(sb.storage, 'oci', 'layers-shifted');
    for (const n of ['c1', 'c2']) expect((await cli(['run', '-d', '--name', n, '--isolation', 'strict', 'tiny:1', 'sleep', '300'], copy)).exitCode).toBe(0);
    for (const n of ['c1', 'c2']) {
      const r = await cli(['exec', n, 'sh', '-c', 'stat -c "%u:%g %n" /srv/user.txt /srv/root.txt; cat /srv/root.txt']);
      expect(String(r.stdout).split('\n'), String(r.stderr)).toEqual(['1000:1000 /srv/user.txt', '0:0 /srv/root.txt', 'secret']);
      // on the host, the container's copy of the layer belongs to its own range
      const base = rangeOf((await hostIds(n)).uid);
      const dir = readdirSync(shifted).find((d) => d.endsWith(`-${base}`))!;
      expect(statSync(join(shifted, dir, 'srv', 'user.txt')).uid).toBe(base + 1000);
    }
    const freed = rangeOf((await hostIds('c1')).uid);
    const before = readdirSync(shifted).length;
    expect((await cli(['rm', '-f', 'c1'])).exitCode).toBe(0);
    expect((await cli(['run', '-d', '--name', 'c3', '--isolation', 'strict', 'tiny:1', 'sleep', '300'], copy)).exitCode).toBe(0);
    expect(rangeOf((await hostIds('c3')).uid)).toBe(freed);
    expect(readdirSync(shifted)).toHaveLength(before); // the freed range's copy is used again, not made a second time
    expect((await cli(['rm', '-f', 'c2', 'c3'])).exitCode).toBe(0);
  });

  it('reuses a removed container\'s range for the next strict container', async () => {
    const freed = rangeOf((await hostIds('r1')).uid);
    expect((await cli(['rm', '-f', 'r1'])).exitCode).toBe(0);
    expect((await cli(['run', '-d', '--name', 'r3', '--isolation', 'strict', 'tiny:1', 'sleep', '300'])).exitCode).toBe(0);
    expect(rangeOf((await hostIds('r3')).uid)).toBe(freed);
  });

  it('keeps every container\'s range across system repair', async () => {
    // the host image: repair rebuilds containers, and these need no OCI image record
    expect((await cli(['rm', '-f', 'r2', 'r3'])).exitCode).toBe(0);
    for (const n of ['h1', 'h2']) expect((await cli(['run', '-d', '--name', n, '--isolation', 'strict', 'host', 'sleep', '300'])).exitCode).toBe(0);
    const before = { h1: (await hostIds('h1')).uid, h2: (await hostIds('h2')).uid };
    expect((await cli(['create', '--name', 'h3', '--isolation', 'strict', 'host', 'sleep', '300'])).exitCode).toBe(0);
    const rep = await cli(['system', 'repair', '--force']);
    expect(rep.exitCode, String(rep.stderr)).toBe(0);
    // the running ones were adopted with their ranges: a restart maps them to the same host ids
    for (const n of ['h1', 'h2'] as const) {
      const r = await cli(['restart', '-t', '1', n]);
      expect(r.exitCode, String(r.stderr)).toBe(0);
      expect((await hostIds(n)).uid).toBe(before[n]);
    }
    // the created one kept the range it was given at create, distinct from both
    expect((await cli(['start', 'h3'])).exitCode).toBe(0);
    const h3 = (await hostIds('h3')).uid;
    expect([rangeOf(before.h1), rangeOf(before.h2)]).not.toContain(rangeOf(h3));
    // and a new container after the repair takes none of the three
    expect((await cli(['run', '-d', '--name', 'h4', '--isolation', 'strict', 'host', 'sleep', '300'])).exitCode).toBe(0);
    expect([rangeOf(before.h1), rangeOf(before.h2), rangeOf(h3)]).not.toContain(rangeOf((await hostIds('h4')).uid));
  });
});
