// Named volumes through the CLI: lifecycle, copy-up from an OCI image, data that outlives containers,
// docker's in-use refusal, prune, the local driver's tmpfs and bind options, --volumes-from, --mount,
// strict isolation's mapped root, and /app as an ordinary path in an OCI image.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loopbackRegistry } from './fixtures/oci.js';
import { missing, sandbox, until } from './helpers.js';

const sb = sandbox('c32-volumes-');
const { cli } = sb;
const skip = missing({ standard: true });
const ociTools = ['/usr/bin/docker-registry', '/usr/bin/buildah'].filter((t) => !existsSync(t));
const skipOci = skip ?? (process.env.CI === 'true' || !ociTools.length ? undefined : `missing ${ociTools.join(', ')} (scripts/test-setup.sh installs them)`);
const work = mkdtempSync(join(tmpdir(), 'c32-volumes-work-'));
let stopRegistry = () => undefined as void;
let image = '';
let base = '';
let seeded = '';

beforeAll(async () => {
  if (skipOci) return;
  const r = await loopbackRegistry(work);
  stopRegistry = r.stop;
  image = `${r.reg}/test/app:1`;
  base = `${r.reg}/test/base:1`; // no WORKDIR
  execFileSync(r.buildah[0], [...r.buildah.slice(1), 'push', '--tls-verify=false', 'localhost/base:1', `docker://${base}`], { stdio: 'ignore' });
  // an image declaring VOLUME /seed, with a file there
  const b = (args: string[]) => execFileSync(r.buildah[0], [...r.buildah.slice(1), ...args], { encoding: 'utf8' }).trim();
  const ctr = b(['from', 'localhost/base:1']);
  const mnt = b(['mount', ctr]);
  mkdirSync(join(mnt, 'seed'));
  writeFileSync(join(mnt, 'seed/seeded.txt'), 'from the image\n');
  b(['config', '--volume', '/seed', ctr]);
  b(['commit', '-q', '--format', 'docker', ctr, 'localhost/seeded:1']);
  seeded = `${r.reg}/test/seeded:1`;
  b(['push', '--tls-verify=false', 'localhost/seeded:1', `docker://${seeded}`]);
  for (const ref of [image, base, seeded]) {
    const p = await cli(['pull', ref]);
    if (p.exitCode !== 0) throw new Error(String(p.stderr));
  }
}, 300_000);
afterAll(async () => {
  stopRegistry();
  await sb.clean();
  rmSync(work, { recursive: true, force: true });
});

const ok = async (args: string[]) => {
  const r = await cli(args);
  expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  return String(r.stdout);
};

describe.skipIf(!!skip)('named volumes', () => {
  it('creates, lists, inspects and removes a volume; its data outlives the containers that wrote it', async () => {
    expect(await ok(['volume', 'create', '--label', 'team=bots', 'notes'])).toBe('notes');
    expect(await ok(['volume', 'create', 'notes'])).toBe('notes'); // as docker: creating it again returns it
    const [v] = JSON.parse(await ok(['volume', 'inspect', 'notes']));
    expect(v).toMatchObject({ Name: 'notes', Driver: 'local', Scope: 'local', Labels: { team: 'bots' }, Mountpoint: join(sb.storage, 'volumes/notes/_data') });
    expect(await ok(['volume', 'ls'])).toMatch(/^DRIVER\s+VOLUME NAME\nlocal\s+notes$/m);
    expect(await ok(['volume', 'ls', '-q', '--filter', 'label=team=bots'])).toBe('notes');
    expect(await ok(['volume', 'ls', '-q', '--filter', 'label=team=other'])).toBe('');

    await ok(['run', '--rm', '-v', 'notes:/notes', 'host', 'sh', '-c', 'echo kept > /notes/a.txt']);
    expect(readFileSync(join(v.Mountpoint, 'a.txt'), 'utf8')).toBe('kept\n');
    // a volume used for the first time by -v is made then
    await ok(['run', '--name', 'writer', '-v', 'fresh:/d', 'host', 'sh', '-c', 'echo one > /d/x']);
    await ok(['rm', '-v', 'writer']);
    expect(await ok(['run', '--rm', '-v', 'fresh:/d:ro', 'host', 'sh', '-c', 'cat /d/x; touch /d/y 2>&1 || true'])).toMatch(/^one\n.*Read-only file system/);

    await ok(['volume', 'rm', 'notes', 'fresh']);
    expect(existsSync(v.Mountpoint)).toBe(false);
    const gone = await cli(['volume', 'inspect', 'notes']);
    expect(gone.exitCode).toBe(125);
    expect(gone.stderr).toContain('No such volume: notes');
    expect((await cli(['volume', 'rm', '-f', 'notes'])).exitCode).toBe(0);
    expect((await cli(['volume', 'create', 'bad/name'])).stderr).toContain('INVALID_NAME');
  });

  it('refuses to remove a volume a container uses, in any state, with docker\'s message', async () => {
    const id = await ok(['create', '--name', 'holder', '-v', 'busy:/busy', 'host', 'true']);
    const r = await cli(['volume', 'rm', 'busy']);
    expect(r.exitCode).toBe(125);
    expect(r.stderr).toContain(`remove busy: volume is in use - [${id}]`);
    expect((await cli(['volume', 'prune', '-a'])).stdout).not.toContain('busy');
    expect(await ok(['volume', 'ls', '-q', '--filter', 'dangling=false'])).toBe('busy');
    await ok(['rm', 'holder']);
    expect(await ok(['volume', 'ls', '-q', '--filter', 'dangling=true'])).toContain('busy');
    await ok(['volume', 'rm', 'busy']);
  });

  it('rm -v removes anonymous volumes only; prune removes unused anonymous ones, -a every unused one', async () => {
    await ok(['create', '--name', 'anon', '-v', '/scratch', '-v', 'named1:/named', 'host', 'true']);
    const mounts = (await sb.inspect('anon')).Mounts as Array<Record<string, any>>;
    const scratch = mounts.find((m) => m.Destination === '/scratch')!;
    expect(scratch).toMatchObject({ Type: 'volume', Driver: 'local', RW: true });
    expect(scratch.Name).toMatch(/^[0-9a-f]{64}$/);
    expect(mounts.find((m) => m.Destination === '/named')).toMatchObject({ Type: 'volume', Name: 'named1', Source: join(sb.storage, 'volumes/named1/_data') });
    await ok(['rm', '-v', 'anon']);
    const left = (await ok(['volume', 'ls', '-q'])).split('\n');
    expect(left).toContain('named1');
    expect(left).not.toContain(scratch.Name);

    await ok(['create', '--name', 'anon2', '-v', '/scratch', 'host', 'true']);
    const anon2 = ((await sb.inspect('anon2')).Mounts as Array<Record<string, any>>)[0].Name;
    await ok(['rm', 'anon2']); // without -v the anonymous volume stays, as docker
    writeFileSync(join(sb.storage, 'volumes', anon2, '_data', 'f'), 'x'.repeat(1000));
    const p = await ok(['volume', 'prune']);
    expect(p).toContain(`Deleted Volumes:\n${anon2}\n`);
    expect(p).toContain('Total reclaimed space: 1000B');
    expect(await ok(['volume', 'ls', '-q'])).toContain('named1');
    expect(await ok(['volume', 'prune', '-a'])).toContain('named1');
    expect(await ok(['volume', 'ls', '-q'])).toBe('');
    // run -d --rm: the supervisor's own removal takes the anonymous volume too
    await ok(['run', '-d', '--rm', '--name', 'gone', '-v', '/scratch', 'host', 'true']);
    // the row goes first, the volume right after it
    await until(async () => (await cli(['inspect', 'gone'])).exitCode !== 0 && (await ok(['volume', 'ls', '-q'])) === '', 30_000);
  });

  it('mounts a tmpfs volume of its size, and a bind volume of a host directory', async () => {
    await ok(['volume', 'create', '--opt', 'type=tmpfs', '--opt', 'device=tmpfs', '--opt', 'o=size=8m', 'ram']);
    const t = await ok(['run', '--rm', '-v', 'ram:/ram', 'host', 'sh', '-c', 'grep " /ram " /proc/mounts']);
    expect(t).toMatch(/^tmpfs \/ram tmpfs .*size=8192k/);
    expect((await cli(['run', '--rm', '-v', 'ram:/ram:ro', 'host', 'true'])).stderr).toContain('Mount it without :ro');
    const host = mkdtempSync(join(tmpdir(), 'c32-volumes-bind-'));
    writeFileSync(join(host, 'from-host'), 'hi\n');
    await ok(['volume', 'create', '--opt', 'type=none', '--opt', 'o=bind', '--opt', `device=${host}`, 'hostdir']);
    expect(await ok(['run', '--rm', '-v', 'hostdir:/h', 'host', 'sh', '-c', 'cat /h/from-host; echo back > /h/to-host'])).toBe('hi');
    expect(readFileSync(join(host, 'to-host'), 'utf8')).toBe('back\n');
    await ok(['volume', 'rm', 'ram', 'hostdir']);
    expect(readFileSync(join(host, 'from-host'), 'utf8')).toBe('hi\n'); // removing the volume leaves the host's directory
    rmSync(host, { recursive: true, force: true });
    const bad = await cli(['volume', 'create', '--opt', 'type=nfs', '--opt', 'device=:/x', 'nfs']);
    expect(bad.exitCode).toBe(125);
    expect(bad.stderr).toContain('not `type=nfs');
    expect((await cli(['volume', 'create', '-d', 'convoy', 'x'])).stderr).toContain('volume driver `convoy` is not supported');
  });

  it('--volumes-from mounts another container\'s volumes and binds, read-only with :ro', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'c32-volumes-from-'));
    await ok(['create', '--name', 'source', '-v', 'shared:/shared', '-v', `${dir}:/hostdir`, 'host', 'true']);
    await ok(['run', '--rm', '--volumes-from', 'source', 'host', 'sh', '-c', 'echo w > /shared/w && echo h > /hostdir/h']);
    expect(await ok(['run', '--rm', '--volumes-from', 'source:ro', 'host', 'sh', '-c', 'cat /shared/w /hostdir/h; touch /shared/no 2>/dev/null || echo refused'])).toBe('w\nh\nrefused');
    await ok(['create', '--name', 'follower', '--volumes-from', 'source', 'host', 'true']);
    expect((await cli(['volume', 'rm', 'shared'])).stderr).toContain('volume is in use');
    expect((await sb.inspect('follower')).Mounts).toHaveLength(2);
    await ok(['rm', 'source', 'follower']);
    await ok(['volume', 'rm', 'shared']);
    rmSync(dir, { recursive: true, force: true });
  });

  it('--mount gives volumes, binds and tmpfs mounts with docker\'s keys', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'c32-volumes-mount-'));
    const out = await ok(['run', '--rm', '--mount', 'type=volume,source=mvol,target=/v', '--mount', `type=bind,src=${dir},dst=/b,readonly`,
      '--mount', 'type=tmpfs,target=/t,tmpfs-size=1m', 'host', 'sh', '-c', 'echo x > /v/x; grep -E " /(b|t) " /proc/mounts']);
    expect(out).toMatch(/ \/b \S+ ro,/);
    expect(out).toMatch(/^tmpfs \/t tmpfs .*size=1024k/m);
    expect(existsSync(join(sb.storage, 'volumes/mvol/_data/x'))).toBe(true);
    const bad = await cli(['run', '--rm', '--mount', 'type=volume,source=a,target=/a,volume-opt=x=y', 'host', 'true']);
    expect(bad.stderr).toContain('`--mount` has no option `volume-opt`');
    await ok(['volume', 'rm', 'mvol']);
    rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(!!missing({ strict: true }))('a volume is writable by a strict container\'s mapped root', async () => {
    expect(await ok(['run', '--rm', '--isolation', 'strict', '-v', 'strictvol:/data', 'host', 'sh', '-c', 'echo s > /data/s && cat /data/s'])).toBe('s');
    expect(statSync(join(sb.storage, 'volumes/strictvol/_data/s')).uid).toBe(100000);
    await ok(['volume', 'rm', 'strictvol']);
  });
});

describe.skipIf(!!skipOci)('volumes on an OCI image', () => {
  it('fills an empty new volume from the image (copy-up), owners and modes kept; a used one is left as it is', async () => {
    // the image's WORKDIR /srv/work holds data.txt from its second layer
    expect(await ok(['run', '--rm', '-v', 'work:/srv/work', image, 'sh', '-c', 'cat data.txt; echo mine > mine.txt'])).toBe('layer two');
    const data = join(sb.storage, 'volumes/work/_data');
    expect(readFileSync(join(data, 'data.txt'), 'utf8')).toBe('layer two\n');
    const st = statSync(join(data, 'data.txt'));
    expect([st.uid, st.mode & 0o777]).toEqual([0, 0o644]);
    rmSync(join(data, 'data.txt'));
    // not empty now: nothing is copied again
    expect(await ok(['run', '--rm', '-v', 'work:/srv/work', image, 'ls'])).toBe('mine.txt');
    // /etc of the image merged over both layers: gone.txt was deleted by the top layer
    expect(await ok(['run', '--rm', '-v', 'etcvol:/etc', image, 'ls', '/etc'])).not.toContain('gone.txt');
    expect(readFileSync(join(sb.storage, 'volumes/etcvol/_data/kept.txt'), 'utf8')).toBe('kept\n');
    await ok(['volume', 'rm', 'work', 'etcvol']);
  });

  it.skipIf(!!missing({ strict: true }))('copies up with the owners strict\'s mapped root sees', async () => {
    expect(await ok(['run', '--rm', '--isolation', 'strict', '-v', 'swork:/srv/work', image, 'sh', '-c', 'ls -ln data.txt; echo w > w'])).toMatch(/^-rw-r--r-- +1 0 +0 /);
    expect(statSync(join(sb.storage, 'volumes/swork/_data/data.txt')).uid).toBe(100000);
    await ok(['volume', 'rm', 'swork']);
  });

  it('gives each path of the image\'s VOLUME list an anonymous volume, filled from the image, unless something is mounted there', async () => {
    expect(await ok(['run', '--name', 'seeded', seeded, 'cat', '/seed/seeded.txt'])).toBe('from the image');
    const [m] = (await sb.inspect('seeded')).Mounts as Array<Record<string, any>>;
    expect(m).toMatchObject({ Type: 'volume', Destination: '/seed', Driver: 'local' });
    expect(readFileSync(join(m.Source, 'seeded.txt'), 'utf8')).toBe('from the image\n');
    await ok(['rm', '-v', 'seeded']);
    expect(existsSync(m.Source)).toBe(false);
    const mounted = await ok(['run', '--rm', '--tmpfs', '/seed', seeded, 'sh', '-c', 'ls /seed | wc -l']);
    expect(mounted.trim()).toBe('0');
  });

  it('lets a bind or volume target /app in an OCI image; a path image keeps /app reserved', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'c32-volumes-app-'));
    writeFileSync(join(dir, 'app.txt'), 'from the host\n');
    expect(await ok(['run', '--rm', '-v', `${dir}:/app`, '-w', '/app', image, 'cat', 'app.txt'])).toBe('from the host');
    expect(await ok(['run', '--rm', '-v', 'appvol:/app', image, 'sh', '-c', 'echo v > /app/v; cat /app/v'])).toBe('v');
    // without WORKDIR an OCI container starts in / (docker's default)
    expect(await ok(['run', '--rm', base, 'sh', '-c', 'pwd; ls -d /app 2>&1 || true'])).toMatch(/^\/\nls: \/app: No such file or directory$/);
    mkdirSync(join(dir, 'bot'));
    writeFileSync(join(dir, 'bot', 'main.sh'), 'echo bot\n');
    const refused = await cli(['run', '--rm', '-v', `${dir}:/app`, join(dir, 'bot')]);
    expect(refused.exitCode).toBe(125);
    expect(refused.stderr).toContain('not / or /app');
    await ok(['volume', 'rm', 'appvol']);
    rmSync(dir, { recursive: true, force: true });
  });
});
