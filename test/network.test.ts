// Private networks with real namespaces, nftables and HTTP servers on both sides: published ports,
// outbound traffic to a test host in a namespace of our own, and what a container must not reach.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { privateNetworkMissing } from '../src/engine/network.js';
import { SLOWDOWN, missing, sandbox, until } from './helpers.js';
import { testHost } from './nethost.js';

const skip = missing({ standard: true }) ?? (process.env.CI === 'true' ? undefined : privateNetworkMissing()[0]);
const sb = sandbox('c32-net-');
const { cli, inspect } = sb;

let host: Awaited<ReturnType<typeof testHost>> | undefined;
let TEST_IP = '';
let TEST_GW = '';
let www = '';
let loopSrv: Server;
let loopPort = 0;

const ourNetns = () => (existsSync('/run/netns') ? readdirSync('/run/netns').filter((n) => n.startsWith('c32-')) : []);
const ourRules = () => execFileSync('nft', ['list', 'chain', 'ip', 'codex32', 'ports'], { encoding: 'utf8' });

/** Fetch a URL from inside a container; prints the body or FAIL. secs bounds curl: a refusal waits it out
 * where packets are dropped, so it stays short; a fetch that must succeed stretches it by the slowdown. */
const fetchIn = (name: string, url: string, secs = 2) =>
  cli(['exec', name, 'sh', '-c', `curl -s -m ${secs} ${url} || echo FAIL`]).then((r) => String(r.stdout).trim());

beforeAll(async () => {
  if (skip) return;
  host = await testHost(201, { 'index.html': 'test-host-page', big: Buffer.alloc(3 * 1024 * 1024, 7) });
  ({ addr: TEST_IP, gw: TEST_GW, www } = host);
  loopSrv = createServer((_q, res) => res.end('host-loopback-secret'));
  await new Promise<void>((r) => loopSrv.listen(0, '127.0.0.1', r));
  loopPort = (loopSrv.address() as AddressInfo).port;
});

afterAll(async () => {
  await sb.clean();
  host?.stop();
  loopSrv?.close();
});

describe.skipIf(!!skip)(`private network${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('standard defaults to private: own address, outbound to the test host, DNS from the host', async () => {
    const r = await cli(['run', '--rm', 'host', 'sh', '-c', `cat /proc/net/route | wc -l; curl -s -m ${5 * SLOWDOWN} http://${TEST_IP}:8080/; echo; cat /etc/resolv.conf`]);
    expect(r.exitCode).toBe(0);
    const [, page] = String(r.stdout).split('\n');
    expect(page).toBe('test-host-page');
    const hostNs = execFileSync('sh', ['-c', "grep '^nameserver' /etc/resolv.conf | grep -v ' 127\\.' || true"], { encoding: 'utf8' }).trim();
    if (hostNs) expect(String(r.stdout)).toContain(hostNs.split('\n')[0]);
  });

  it('a published port reaches the server inside; ports show in port, ps, inspect', async () => {
    const r = await cli(['run', '-d', '--name', 'web', '-v', `${www}:/www:ro`, '-p', '3001', '-p', '127.0.0.1::3002/udp', 'host', 'python3', '-m', 'http.server', '3001', '--directory', '/www']);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const doc = await inspect('web');
    const bind = doc.NetworkSettings.Ports['3001/tcp'][0];
    expect(bind.HostIp).toBe('0.0.0.0');
    expect(Number(bind.HostPort)).toBeGreaterThan(0);
    expect(doc.NetworkSettings.Ports['3002/udp'][0].HostIp).toBe('127.0.0.1');
    expect(doc.NetworkSettings.IPAddress).toMatch(/^10\.89\./);
    expect(doc.HostConfig.NetworkMode).toBe('private');
    const page = await until(() => execa('curl', ['-s', '-m', '2', `http://127.0.0.1:${bind.HostPort}/`], { reject: false }).then((x) => x.stdout === 'test-host-page' && x.stdout));
    expect(page).toBe('test-host-page');
    expect(String((await cli(['port', 'web'])).stdout)).toContain(`3001/tcp -> 0.0.0.0:${bind.HostPort}`);
    expect(String((await cli(['port', 'web', '3001'])).stdout)).toBe(`0.0.0.0:${bind.HostPort}`);
    expect(String((await cli(['ps'])).stdout)).toContain(`0.0.0.0:${bind.HostPort}->3001/tcp`);
    expect(doc.NetworkSettings.URL).toBe(`http://127.0.0.1:${bind.HostPort}`);
  });

  it("reaches neither the host's loopback services nor another container's unpublished ports", async () => {
    await cli(['run', '-d', '--name', 'other', '-v', `${www}:/www:ro`, '-p', '8001', 'host', 'sh', '-c', 'python3 -m http.server 8000 --directory /www & python3 -m http.server 8001 --directory /www']);
    await cli(['run', '-d', '--name', 'prober', 'host', 'sleep', '300']);
    const other = await inspect('other');
    const otherIp = other.NetworkSettings.IPAddress;
    const published = other.NetworkSettings.Ports['8001/tcp'][0].HostPort;
    await until(() => execa('curl', ['-s', '-m', '1', `http://127.0.0.1:${published}/`], { reject: false }).then((x) => x.stdout === 'test-host-page'));
    expect(await fetchIn('prober', `http://127.0.0.1:${loopPort}/`)).toBe('FAIL');
    expect(await fetchIn('prober', `http://10.89.0.1:${loopPort}/`)).toBe('FAIL');
    expect(await fetchIn('prober', `http://${otherIp}:8000/`)).toBe('FAIL');
    expect(await fetchIn('prober', `http://${otherIp}:8001/`)).toBe('FAIL');
    // the same server stays reachable where it is published
    expect(await fetchIn('prober', `http://${TEST_GW}:${published}/`, 2 * SLOWDOWN)).toBe('test-host-page');
    await cli(['rm', '-f', 'other', 'prober']);
  });

  it('--add-host and --dns write the container\'s hosts and resolv.conf', async () => {
    const r = await cli(['run', '--rm', '--add-host', 'db.local:10.1.2.3', '--dns', '10.9.9.9', 'host', 'sh', '-c', 'getent hosts db.local; cat /etc/resolv.conf']);
    expect(String(r.stdout)).toMatch(/10\.1\.2\.3\s+db\.local/);
    expect(String(r.stdout)).toContain('nameserver 10.9.9.9');
  });

  it('--network host shares the host stack; strict defaults to none and accepts private', async () => {
    const h = await cli(['run', '--rm', '--network', 'host', 'host', 'sh', '-c', `curl -s -m ${3 * SLOWDOWN} http://127.0.0.1:${loopPort}/`]);
    expect(String(h.stdout)).toBe('host-loopback-secret');
    const none = await cli(['run', '--rm', '--isolation', 'strict', 'host', 'sh', '-c', 'ls /sys/class/net; cat /proc/net/route | wc -l']);
    expect(String(none.stdout)).toBe('lo\n1');
    const priv = await cli(['run', '--rm', '--isolation', 'strict', '--network', 'private', 'host', 'sh', '-c', `ip link set eth0 down 2>/dev/null || true; curl -s -m ${5 * SLOWDOWN} http://${TEST_IP}:8080/`]);
    expect(String(priv.stdout), String(priv.stderr)).toBe('test-host-page');
  });

  it('--network-bandwidth caps both directions, measured with real transfers', async () => {
    const rate = 1024 * 1024; // 1m: bytes per second
    await cli(['run', '-d', '--name', 'slow', '--network-bandwidth', '1m', '-v', `${www}:/www:ro`, '-p', '8080', 'host', 'sh', '-c', 'python3 -m http.server 8080 --directory /www']);
    const hp = (await inspect('slow')).NetworkSettings.Ports['8080/tcp'][0].HostPort;
    await until(() => execa('curl', ['-s', '-m', '1', `http://127.0.0.1:${hp}/`], { reject: false }).then((x) => x.stdout === 'test-host-page'));
    // out of the container: the host downloads 3 MB from it
    const out = await execa('curl', ['-s', '-o', '/dev/null', '-w', '%{speed_download}', `http://127.0.0.1:${hp}/big`]);
    // into the container: it downloads 3 MB from the test host
    const inn = await cli(['exec', 'slow', 'curl', '-s', '-o', '/dev/null', '-w', '%{speed_download}', `http://${TEST_IP}:8080/big`]);
    for (const speed of [Number(out.stdout), Number(inn.stdout)]) {
      expect(speed).toBeLessThan(rate * 1.25);
      expect(speed).toBeGreaterThan(rate * 0.3);
    }
    console.log(`--network-bandwidth 1m: out ${(Number(out.stdout) / rate).toFixed(2)} MiB/s, in ${(Number(inn.stdout) / rate).toFixed(2)} MiB/s`);
    await cli(['rm', '-f', 'slow']);
  });

  it('removal leaves no namespace, no rule, no address lease', async () => {
    const id = (await inspect('web')).Id as string;
    const netns = `c32-${id.slice(0, 11)}`;
    expect(existsSync(`/sys/class/net/${netns}`)).toBe(true); // its veth, while it runs
    // the supervisor holds the namespace once it has joined it: the host keeps no mount (name) per container
    expect(ourNetns()).not.toContain(netns);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(`/run/netns/${netns}`);
    expect(ourRules()).toContain(`c32:${id}`);
    await cli(['rm', '-f', 'web']);
    expect(ourNetns()).not.toContain(netns);
    expect(ourRules()).not.toContain(`c32:${id}`);
    expect(existsSync(`/run/codex32/net/${netns}`)).toBe(false);
    expect(existsSync(`/sys/class/net/${netns}`)).toBe(false);
  });

  it('a fixed host port is the running container\'s: a stopped holder keeps no claim, one that runs refuses the start in docker\'s words', async () => {
    const port = await new Promise<number>((r) => {
      const t = createServer().listen(0, '127.0.0.1', () => {
        const p = (t.address() as AddressInfo).port;
        t.close(() => r(p));
      });
    });
    const serve = (name: string) => ['run', '-d', '--name', name, '-p', `127.0.0.1:${port}:8000`, 'host', 'sh', '-c', `echo ${name} > /tmp/i; exec python3 -m http.server 8000 --directory /tmp`];
    const reach = (want: string) => until(() => execa('curl', ['-s', '-m', '2', `http://127.0.0.1:${port}/i`], { reject: false }).then((x) => (x.stdout.trim() === want ? want : undefined)));
    expect((await cli(serve('pa'))).exitCode).toBe(0);
    expect(await reach('pa')).toBe('pa');
    expect(String((await cli(['ps', '--filter', 'name=pa', '--format', '{{.Ports}}'])).stdout)).toBe(`127.0.0.1:${port}->8000/tcp`);
    const refused = await cli(serve('pb'));
    expect([refused.exitCode, String(refused.stderr)]).toEqual([125, expect.stringContaining('another running container publishes it')]);
    // pa ended (killed, not stopped: its rules stay until the port is wanted): a new container may take
    // its port (compose recreates a service so), and pa's rules go at pb's start
    const paId = (await inspect('pa')).Id as string;
    await cli(['kill', 'pa']);
    await until(async () => ((await inspect('pa')).State.Running === false ? true : undefined));
    expect(ourRules()).toContain(`c32:${paId}`);
    // a stopped container publishes nothing, as docker's ps shows it
    expect(String((await cli(['ps', '-a', '--filter', 'name=pa', '--format', '{{.Names}}:{{.Ports}}'])).stdout)).toBe('pa:');
    const pb = await cli(serve('pb'));
    expect(pb.exitCode, String(pb.stderr)).toBe(0);
    expect(ourRules()).not.toContain(`c32:${paId}`);
    expect(await reach('pb')).toBe('pb');
    const again = await cli(['start', 'pa']);
    expect([again.exitCode, String(again.stderr)]).toEqual([125, expect.stringContaining(`Bind for 127.0.0.1:${port} failed: port is already allocated (container pb publishes it)`)]);
    expect(String((await cli(['ps', '-a', '--filter', 'name=pa'])).stdout)).toMatch(/Exited/);
    expect(await reach('pb')).toBe('pb');
    await cli(['rm', '-f', 'pa', 'pb']);
  });

  it('bad input: exit 125 with the expected form, nothing left behind', async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const busyPort = (busy.address() as AddressInfo).port;
    const cases: Array<[string[], RegExp]> = [
      [['-p', `127.0.0.1:${busyPort}:80`], /Expected `-p` to name a free host port/],
      [['-p', '70000:80'], /Expected `-p` to be \[IP:\]\[HOSTPORT:\]CONTAINERPORT/],
      [['-p', '80:0'], /Expected `-p`/],
      [['--network', 'nosuchnet'], /network nosuchnet not found/],
      [['--network-bandwidth', '-1'], /Expected `--network-bandwidth` to be a rate/],
      [['--network-bandwidth', '1e99'], /Expected `--network-bandwidth` to be a rate/],
      [['--network', 'host', '-p', '80'], /Expected `-p` with `--network` private/],
      [['--add-host', 'nocolon'], /Expected `--add-host` to be NAME:IPv4/],
    ];
    const before = sb.storage;
    for (const [flags, msg] of cases) {
      const r = await cli(['run', '--rm', '--name', 'bad', ...flags, 'host', 'true']);
      expect(r.exitCode, flags.join(' ')).toBe(125);
      expect(String(r.stderr)).toMatch(msg);
    }
    busy.close();
    expect(String((await cli(['ps', '-aq'])).stdout)).toBe('');
    // refused before any id exists: no namespace, rule or cgroup can carry one (other storage
    // directories on this host may have containers of their own, so the check is by what we asked)
    expect(ourRules()).not.toMatch(new RegExp(`dport (${busyPort}|70000) `));
    const cg = '/sys/fs/cgroup/pids/codex32';
    expect(existsSync(cg) ? readdirSync(cg).filter((d) => d.startsWith('bad')) : []).toEqual([]);
    expect(readdirSync(join(before, 'containers'))).toEqual([]);
  });
});
