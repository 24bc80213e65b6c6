// User networks with real namespaces and nftables: containers on one reach each other on every port and
// resolve names, aliases and links through libc; other networks and the private default stay walled off;
// --internal has no way out; the CLI's verbs and docker's network commands against `system service`.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { privateNetworkMissing } from '../src/engine/network.js';
import { DOCKER, dockerApi } from './dockerapi-helpers.js';
import { SLOWDOWN, missing, sandbox, until } from './helpers.js';
import { testHost } from './nethost.js';

const skip = missing({ standard: true }) ?? (process.env.CI === 'true' ? undefined : privateNetworkMissing()[0]);
const sb = sandbox('c32-unet-');
const { cli } = sb;
let host: Awaited<ReturnType<typeof testHost>> | undefined;

/** From inside a container: each host name's address (or ERR), and whether port 8000 there answers. */
const PROBE = `import socket, sys, urllib.request
for h in sys.argv[1:]:
    try:
        a = socket.gethostbyname(h)
    except OSError:
        print(h, 'ERR'); continue
    try:
        print(h, a, urllib.request.urlopen('http://%s:8000/' % h, timeout=${2 * SLOWDOWN}).status)
    except OSError:
        print(h, a, 'unreachable')`;
const probe = async (name: string, ...hosts: string[]) => String((await cli(['exec', name, 'python3', '-c', PROBE, ...hosts])).stdout).trim().split('\n');
const ok = (line: string | undefined) => /^\S+ \d+\.\d+\.\d+\.\d+ 200$/.test(line ?? '');
/** How many rules of the host's `members` chain belong to a network (each start adds it only when missing). */
const memberRules = (networkId: string) => spawnSync('nft', ['list', 'chain', 'ip', 'codex32', 'members'], { encoding: 'utf8' }).stdout.split(`"net:${networkId.slice(0, 12)}"`).length - 1;
const netId = async (name: string): Promise<string> => JSON.parse(String((await cli(['network', 'inspect', name])).stdout))[0].Id;
const web = (name: string, ...flags: string[]) => cli(['run', '-d', '--name', name, ...flags, 'host', 'python3', '-m', 'http.server', '8000']);
const idle = (name: string, ...flags: string[]) => cli(['run', '-d', '--name', name, ...flags, 'host', 'sleep', '600']);

beforeAll(async () => {
  if (!skip) host = await testHost(202, { 'index.html': 'outside' });
});
afterAll(async () => {
  await sb.clean();
  host?.stop();
});

describe.skipIf(!!skip)(`user networks${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('containers on one network reach each other by name and alias; other networks and private ones do not', async () => {
    for (const n of ['front', 'back']) expect((await cli(['network', 'create', '--label', `tier=${n}`, n])).exitCode).toBe(0);
    expect((await web('store', '--network', 'back', '--network-alias', 'kv')).exitCode).toBe(0);
    expect((await idle('bot', '--network', 'back', '--link', 'store:db')).exitCode).toBe(0);
    expect((await idle('stranger', '--network', 'front')).exitCode).toBe(0);
    expect((await idle('loner')).exitCode).toBe(0); // the private default: docker's bridge has no names either
    const [byName, byAlias, byLink] = await until(async () => {
      const r = await probe('bot', 'store', 'kv', 'db');
      return r.every(ok) ? r : undefined;
    }, 30_000, 200);
    expect(byName!.split(' ')[1]).toBe(byAlias!.split(' ')[1]);
    expect(byLink!.split(' ')[1]).toBe(byName!.split(' ')[1]);
    const storeIp = byName!.split(' ')[1]!;
    // another network and the private default: no name, and no way in by address either
    for (const outsider of ['stranger', 'loner']) {
      expect(await probe(outsider, 'store', 'kv')).toEqual(['store ERR', 'kv ERR']);
      const byIp = await cli(['exec', outsider, 'sh', '-c', `curl -s -m 2 http://${storeIp}:8000/ >/dev/null && echo reached || echo walled`]);
      expect(String(byIp.stdout).trim()).toBe('walled');
    }
    // links are this container's own names: the store does not know `db`
    expect((await probe('store', 'db'))[0]).toBe('db ERR');
    // two members started, one rule for their network, put in by the first start's own transaction
    expect(memberRules(await netId('back'))).toBe(1);
  });

  it('connect and disconnect take effect at once; a restarted member is found at its new address', async () => {
    expect((await cli(['network', 'connect', '--alias', 'guest', 'back', 'stranger'])).exitCode).toBe(0);
    await until(async () => ok((await probe('stranger', 'store'))[0]) || undefined, 30_000, 200);
    expect((await probe('bot', 'guest'))[0]).toMatch(/^guest \d/);
    expect((await cli(['network', 'disconnect', 'back', 'stranger'])).exitCode).toBe(0);
    expect((await probe('stranger', 'store'))[0]).toBe('store ERR');
    expect((await probe('bot', 'guest'))[0]).toBe('guest ERR');
    expect((await cli(['stop', '-t', '1', 'store'])).exitCode).toBe(0);
    expect((await probe('bot', 'store'))[0]).toBe('store ERR');
    expect((await cli(['start', 'store'])).exitCode).toBe(0);
    const after = await until(async () => {
      const l = (await probe('bot', 'store'))[0];
      return ok(l) && l!.split(' ')[1];
    }, 30_000, 200);
    expect(after).toMatch(/^10\.89\./); // its address now, whichever it leased
  });

  it('lists, filters exactly, inspects, refuses removal while in use, and prunes', async () => {
    const ls = async (...f: string[]) => String((await cli(['network', 'ls', '--format', '{{.Name}}', ...f.flatMap((x) => ['-f', x])])).stdout).trim().split('\n').filter(Boolean);
    expect(await ls()).toEqual(expect.arrayContaining(['private', 'host', 'none', 'front', 'back']));
    expect(await ls('type=custom', 'label=tier=back')).toEqual(['back']);
    expect(await ls('type=builtin')).toEqual(['private', 'host', 'none']);
    for (const f of ['bogus=1', 'type=other', 'dangling=maybe']) {
      const r = await cli(['network', 'ls', '-f', f]);
      expect(r.exitCode, f).toBe(125);
      expect(String(r.stderr)).toMatch(/invalid filter/);
    }
    const doc = JSON.parse(String((await cli(['network', 'inspect', 'back'])).stdout))[0];
    expect(doc).toMatchObject({ Name: 'back', Driver: 'bridge', Labels: { tier: 'back' }, Internal: false });
    expect(Object.values(doc.Containers).map((c: any) => c.Name).sort()).toEqual(['bot', 'store']);
    const rm = await cli(['network', 'rm', 'back']);
    expect(rm.exitCode).toBe(125);
    expect(String(rm.stderr)).toMatch(/has active endpoints/);
    const bogus = await cli(['network', 'inspect', 'nope']);
    expect(String(bogus.stderr)).toMatch(/network nope not found/);
    const backId = await netId('back');
    for (const c of ['bot', 'store', 'stranger']) await cli(['rm', '-f', c]);
    expect((await cli(['network', 'create', 'spare'])).exitCode).toBe(0);
    expect(String((await cli(['network', 'prune', '-f', '--filter', 'label=tier'])).stdout)).toMatch(/front\nback|back\nfront/);
    expect(await ls('type=custom')).toEqual(['spare']);
    expect(memberRules(backId)).toBe(0);
    expect((await cli(['network', 'rm', 'spare'])).exitCode).toBe(0);
  });

  it('--subnet leases from it and refuses overlaps; --internal has no way out but reaches its members', async () => {
    expect((await cli(['network', 'create', '--subnet', '172.29.5.0/24', 'sub'])).exitCode).toBe(0);
    const overlap = await cli(['network', 'create', '--subnet', '172.29.0.0/16', 'sub2']);
    expect(String(overlap.stderr)).toMatch(/overlaps/);
    expect((await cli(['network', 'create', '--internal', 'closed'])).exitCode).toBe(0);
    await web('inner', '--network', 'closed');
    await idle('peer', '--network', 'closed');
    await idle('open', '--network', 'sub');
    const addr = String((await cli(['exec', 'open', 'hostname', '-i'])).stdout).trim();
    expect(addr).toMatch(/^172\.29\.5\.\d+$/);
    await until(async () => ok((await probe('peer', 'inner'))[0]) || undefined, 30_000, 200);
    // the way out must work within the stretched bound; the refusal needs no more than 3 s to show
    const out = (name: string, secs: number) => cli(['exec', name, 'sh', '-c', `curl -s -m ${secs} ${host!.url}/ || echo FAIL`]).then((r) => String(r.stdout).trim());
    expect(await out('open', 3 * SLOWDOWN)).toBe('outside');
    expect(await out('peer', 3)).toBe('FAIL');
    for (const c of ['inner', 'peer', 'open']) await cli(['rm', '-f', c]);
    for (const n of ['sub', 'closed']) expect((await cli(['network', 'rm', n])).exitCode).toBe(0);
  });

  it('an address a set still holds from a stop cut short is rebuilt out of every set before its next holder runs', async () => {
    // a /30 has one address to lease: the next member of `tiny` gets exactly it
    expect((await cli(['network', 'create', '--subnet', '172.30.9.0/30', 'tiny'])).exitCode).toBe(0);
    expect((await cli(['network', 'create', 'side'])).exitCode).toBe(0);
    await web('sider', '--network', 'side');
    const sideSet = `n_${(await netId('side')).slice(0, 12)}`;
    const holds = () => spawnSync('nft', ['list', 'set', 'ip', 'codex32', sideSet], { encoding: 'utf8' }).stdout.includes('172.30.9.2');
    // the state a stop killed between giving the address up and rebuilding the sets leaves: still in a set, marked
    expect(spawnSync('nft', ['add', 'element', 'ip', 'codex32', sideSet, '{ 172.30.9.2 }']).status).toBe(0);
    mkdirSync('/run/codex32/net/stale', { recursive: true });
    writeFileSync('/run/codex32/net/stale/172.30.9.2', 'cut-short');
    expect(holds()).toBe(true);
    await idle('newcomer', '--network', 'tiny');
    expect(String((await cli(['exec', 'newcomer', 'hostname', '-i'])).stdout).trim()).toBe('172.30.9.2');
    expect(holds()).toBe(false);
    expect(existsSync('/run/codex32/net/stale/172.30.9.2')).toBe(false);
    const sider = String((await cli(['exec', 'sider', 'hostname', '-i'])).stdout).trim();
    const reach = await cli(['exec', 'newcomer', 'sh', '-c', `curl -s -m 2 http://${sider}:8000/ >/dev/null && echo reached || echo walled`]);
    expect(String(reach.stdout).trim()).toBe('walled');
    // a stop that finishes leaves no mark and no address behind
    expect((await cli(['rm', '-f', 'newcomer'])).exitCode).toBe(0);
    expect(existsSync('/run/codex32/net/stale/172.30.9.2')).toBe(false);
    for (const c of ['sider']) await cli(['rm', '-f', c]);
    for (const n of ['tiny', 'side']) expect((await cli(['network', 'rm', n])).exitCode).toBe(0);
  });

  it('a start after a lost supervisor rebuilds every set, for a container on no user network too', async () => {
    expect((await cli(['network', 'create', 'side2'])).exitCode).toBe(0);
    await idle('member2', '--network', 'side2');
    const set = `n_${(await netId('side2')).slice(0, 12)}`;
    const holds = () => spawnSync('nft', ['list', 'set', 'ip', 'codex32', set], { encoding: 'utf8' }).stdout.includes('10.89.250.250');
    // what a set may hold when a supervisor dies with its container: an address no member has
    expect(spawnSync('nft', ['add', 'element', 'ip', 'codex32', set, '{ 10.89.250.250 }']).status).toBe(0);
    await idle('loner2');
    const init = Number(String((await cli(['inspect', '-f', '{{.State.Pid}}', 'loner2'])).stdout).trim());
    const supervisor = Number(readFileSync(`/proc/${init}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
    process.kill(supervisor, 'SIGKILL');
    await until(async () => !String((await cli(['ps', '-q', '-f', 'name=^loner2$'])).stdout).trim() || undefined, 30_000, 200);
    expect(holds()).toBe(true);
    expect((await cli(['start', 'loner2'])).exitCode).toBe(0);
    expect(holds()).toBe(false);
    for (const c of ['member2', 'loner2']) await cli(['rm', '-f', c]);
    expect((await cli(['network', 'rm', 'side2'])).exitCode).toBe(0);
  });
});

const noDocker = existsSync(DOCKER) ? undefined : `missing ${DOCKER} (scripts/test-setup.sh installs docker.io)`;
describe.skipIf(!!(skip ?? noDocker))('docker network commands against the Docker API', () => {
  let api: Awaited<ReturnType<typeof dockerApi>>;
  beforeAll(async () => {
    api = await dockerApi('c32-unet-api-');
  }, 60_000 * SLOWDOWN);
  afterAll(() => api?.stop());

  it('create, ls with filters, run on it with an alias, inspect, connect, disconnect, rm and prune', async () => {
    const d = api.docker;
    expect((await d(['network', 'create', '--label', 'app=demo', 'demo'])).exitCode).toBe(0);
    expect((await d(['network', 'ls', '--filter', 'label=app=demo', '--format', '{{.Name}}'])).stdout).toBe('demo');
    expect((await d(['network', 'ls', '--filter', 'bogus=1'])).stderr).toMatch(/invalid filter 'bogus'/);
    expect((await d(['run', '-d', '--name', 'db', '--network', 'demo', '--network-alias', 'database', 'host', 'python3', '-m', 'http.server', '8000'])).exitCode).toBe(0);
    expect((await d(['run', '-d', '--name', 'app', '--network', 'demo', 'host', 'sleep', '600'])).exitCode).toBe(0);
    const look = await until(async () => {
      const r = await d(['exec', 'app', 'python3', '-c', PROBE, 'db', 'database']);
      return r.stdout.split('\n').every(ok) && r.stdout;
    }, 30_000, 200);
    expect(look).toMatch(/^db /);
    const inspect = JSON.parse((await d(['network', 'inspect', 'demo'])).stdout)[0];
    expect(Object.values(inspect.Containers).map((c: any) => c.Name).sort()).toEqual(['app', 'db']);
    const networks = JSON.parse((await d(['inspect', '-f', '{{json .NetworkSettings.Networks}}', 'db'])).stdout);
    expect(networks.demo.Aliases).toContain('database');
    expect((await d(['network', 'disconnect', 'demo', 'app'])).exitCode).toBe(0);
    expect((await d(['exec', 'app', 'python3', '-c', PROBE, 'db'])).stdout).toBe('db ERR');
    expect((await d(['network', 'connect', 'demo', 'app'])).exitCode).toBe(0);
    expect((await d(['network', 'rm', 'demo'])).stderr).toMatch(/active endpoints/);
    expect((await d(['rm', '-f', 'db', 'app'])).exitCode).toBe(0);
    expect((await d(['network', 'rm', 'demo'])).exitCode).toBe(0);
    expect((await d(['network', 'create', 'leftover'])).exitCode).toBe(0);
    expect((await d(['network', 'prune', '-f'])).stdout).toMatch(/leftover/);
  });
});
