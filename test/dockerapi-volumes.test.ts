// Volumes through the Docker API with the docker CLI: volume create/ls/inspect/rm/prune, `docker run -v
// NAME:/data`, --mount type=volume, anonymous volumes, container Mounts as docker-compose reads them,
// and the 409 of a volume in use.
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOCKER, dockerApi, type DockerApi } from './dockerapi-helpers.js';
import { missing } from './helpers.js';

const skip = missing({ standard: true }) ?? (process.env.CI === 'true' || existsSync(DOCKER) ? undefined : `missing ${DOCKER} (scripts/test-setup.sh installs it)`);
let api: DockerApi;

beforeAll(async () => {
  if (!skip) api = await dockerApi('c32-dapi-vol-');
}, 60_000);
afterAll(async () => {
  await api?.stop();
});

/** One request straight to the service's socket: status and JSON body. */
function raw(method: string, path: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: api.socket, method, path }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d)).on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined }));
    });
    req.on('error', reject).end();
  });
}

const ok = async (args: string[]) => {
  const r = await api.docker(args);
  expect(r.exitCode, `docker ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
};

describe.skipIf(!!skip)('volumes through the Docker API', () => {
  it('creates, lists with filters, inspects and removes volumes with the docker CLI', async () => {
    expect(await ok(['volume', 'create', '--label', 'tier=db', 'pgdata'])).toBe('pgdata');
    expect(await ok(['volume', 'create', '--opt', 'type=tmpfs', '--opt', 'device=tmpfs', '--opt', 'o=size=4m', 'scratch'])).toBe('scratch');
    const anon = await ok(['volume', 'create']);
    expect(anon).toMatch(/^[0-9a-f]{64}$/);
    const [v] = JSON.parse(await ok(['volume', 'inspect', 'pgdata']));
    expect(v).toMatchObject({ Name: 'pgdata', Driver: 'local', Scope: 'local', Labels: { tier: 'db' }, Mountpoint: join(api.storage, 'volumes/pgdata/_data') });
    expect(v.CreatedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(JSON.parse(await ok(['volume', 'inspect', 'scratch']))[0].Options).toEqual({ type: 'tmpfs', device: 'tmpfs', o: 'size=4m' });
    expect((await ok(['volume', 'ls', '--format', '{{.Driver}} {{.Name}}'])).split('\n').sort()).toEqual([`local ${anon}`, 'local pgdata', 'local scratch'].sort());
    expect(await ok(['volume', 'ls', '-q', '--filter', 'label=tier=db'])).toBe('pgdata');
    expect(await ok(['volume', 'ls', '-q', '--filter', 'name=scr'])).toBe('scratch');
    expect(await ok(['volume', 'ls', '-q', '--filter', 'driver=other'])).toBe('');
    const nf = await api.docker(['volume', 'inspect', 'nope']);
    expect(nf.exitCode).toBe(1);
    expect(nf.stderr).toBe('Error: No such volume: nope'); // the CLI's words for a 404
    const drv = await api.docker(['volume', 'create', '-d', 'rexray', 'x']);
    expect(drv.exitCode).toBe(1);
    expect(drv.stderr).toContain('volume driver rexray is not supported');
    expect(await ok(['volume', 'rm', 'scratch', anon])).toBe(`scratch\n${anon}`);
  });

  it('runs with -v NAME:/data and --mount type=volume; Mounts and Binds are docker\'s; in use is a 409', async () => {
    await ok(['run', '--rm', '--network', 'none', '-v', 'pgdata:/data', 'host', 'sh', '-c', 'echo stored > /data/f']);
    expect(readFileSync(join(api.storage, 'volumes/pgdata/_data/f'), 'utf8')).toBe('stored\n');
    expect(await ok(['run', '--rm', '--network', 'none', '--mount', 'type=volume,source=pgdata,target=/d,readonly', 'host', 'cat', '/d/f'])).toBe('stored');
    const id = await ok(['create', '--name', 'db', '--network', 'none', '-v', 'pgdata:/data', '-v', '/anon', 'host', 'sleep', '60']);
    const insp = JSON.parse(await ok(['inspect', 'db']))[0];
    expect(insp.Mounts).toContainEqual({ Type: 'volume', Name: 'pgdata', Source: join(api.storage, 'volumes/pgdata/_data'), Destination: '/data', Driver: 'local', Mode: 'z', RW: true, Propagation: '' });
    const anon = insp.Mounts.find((m: { Destination: string }) => m.Destination === '/anon');
    expect(anon).toMatchObject({ Type: 'volume', Driver: 'local', RW: true });
    expect(insp.HostConfig.Binds).toEqual(['pgdata:/data']);
    expect(insp.Config.Volumes).toEqual({ '/anon': {} });
    const busy = await api.docker(['volume', 'rm', 'pgdata']);
    expect(busy.exitCode).toBe(1);
    expect(busy.stderr).toBe(`Error response from daemon: remove pgdata: volume is in use - [${id}]`);
    expect(await raw('DELETE', '/v1.41/volumes/pgdata')).toEqual({ status: 409, body: { message: `remove pgdata: volume is in use - [${id}]` } });
    expect((await raw('GET', '/volumes/nope')).status).toBe(404);
    expect(await ok(['rm', '-v', 'db'])).toBe('db');
    const left = (await ok(['volume', 'ls', '-q'])).split('\n');
    expect(left).toContain('pgdata');
    expect(left).not.toContain(anon.Name);
  });

  it('takes --volumes-from and a --rm container\'s anonymous volumes go with it', async () => {
    await ok(['create', '--name', 'src', '--network', 'none', '-v', 'shared:/s', 'host', 'true']);
    await ok(['run', '--rm', '--network', 'none', '--volumes-from', 'src', 'host', 'sh', '-c', 'echo w > /s/w']);
    expect(await ok(['run', '--rm', '--network', 'none', '--volumes-from', 'src:ro', 'host', 'sh', '-c', 'cat /s/w; touch /s/x 2>/dev/null || echo ro'])).toBe('w\nro');
    const before = (await ok(['volume', 'ls', '-q'])).split('\n');
    await ok(['run', '--rm', '--network', 'none', '-v', '/tmpdata', 'host', 'true']);
    expect((await ok(['volume', 'ls', '-q'])).split('\n')).toEqual(before);
    await ok(['rm', 'src']);
    await ok(['volume', 'rm', 'shared']);
  });

  it('prunes unused volumes and says how much space it freed', async () => {
    await ok(['volume', 'create', 'keep']);
    await ok(['create', '--name', 'user', '--network', 'none', '-v', 'keep:/k', 'host', 'true']);
    const p = await ok(['volume', 'prune', '-f']);
    expect(p).toContain('pgdata');
    expect(p).not.toContain('keep');
    expect(p).toMatch(/Total reclaimed space: 7B/);
    expect(await ok(['volume', 'ls', '-q'])).toBe('keep');
    await ok(['rm', 'user']);
    await ok(['volume', 'rm', 'keep']);
  });
});
