// A compose project, unchanged, with Debian's docker-compose 1.29 against `codex32 system service`: a bot
// that writes to a key-value store by its service name, the store on a named volume with a health check,
// a status page on a published port; up, ps, logs, exec, restart, run --rm, --scale, stop, start, down -v;
// and the app builder's server, which holds the Docker socket and starts its users' apps as siblings.
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { privateNetworkMissing } from '../src/engine/network.js';
import { dockerApi } from './dockerapi-helpers.js';
import { missing, ROOT, until } from './helpers.js';

const COMPOSE = '/usr/bin/docker-compose';
const skip =
  missing({ standard: true }) ??
  (process.env.CI === 'true' ? undefined : (privateNetworkMissing()[0] ?? (existsSync(COMPOSE) ? undefined : `missing ${COMPOSE} (scripts/test-setup.sh installs docker-compose)`)));

describe.skipIf(!!skip)(`docker-compose against the Docker API${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let api: Awaited<ReturnType<typeof dockerApi>>;
  const project = mkdtempSync(join(tmpdir(), 'c32-compose-'));
  /** docker-compose in the project's directory, against the service; its output and exit code. */
  const compose = async (...args: string[]) => {
    const r = await execa(COMPOSE, ['-p', 'c32t', ...args], { cwd: project, env: api.dockerEnv, reject: false, timeout: 180_000, all: true });
    return { code: r.exitCode ?? -1, out: String(r.all ?? '') };
  };
  const page = async () => {
    const port = (await compose('port', 'web', '8080')).out.trim();
    return execa('curl', ['-s', '-m', '2', `http://${port}/`], { reject: false }).then((r) => String(r.stdout));
  };

  beforeAll(async () => {
    cpSync(join(ROOT, 'test/fixtures/compose'), project, { recursive: true });
    api = await dockerApi('c32-compose-');
  }, 60_000);
  afterAll(async () => {
    await compose('down', '-v', '-t', '1').catch(() => undefined);
    await api?.stop();
    rmSync(project, { recursive: true, force: true });
  });

  it('up -d: the network, the volume and three services; the bot reaches the store by name, the page is served', async () => {
    const up = await compose('up', '-d');
    expect(up.code, up.out).toBe(0);
    expect(up.out).toMatch(/Creating network "c32t_default"/);
    expect(up.out).toMatch(/Creating volume "c32t_data"/);
    expect(await until(async () => (await page()) === 'last bot: c32t_bot_1' || undefined, 60_000, 300)).toBe(true);
    const ps = await until(async () => {
      const r = await compose('ps');
      return /c32t_store_1 .* Up \(healthy\)/.test(r.out) ? r : undefined;
    }, 60_000, 500);
    expect(ps.out).toMatch(/c32t_web_1 .* Up .*127\.0\.0\.1:\d+->8080\/tcp/);
    expect((await compose('logs', '--tail', '2', 'bot')).out).toMatch(/wrote c32t_bot_1/);
  });

  it('exec, restart and run --rm', async () => {
    const ex = await compose('exec', '-T', 'bot', 'python3', '-c', "import urllib.request; print(urllib.request.urlopen('http://store:8000/last').read().decode())");
    expect(ex.code, ex.out).toBe(0);
    expect(ex.out.trim()).toBe('c32t_bot_1');
    expect((await compose('restart', '-t', '1', 'bot')).code).toBe(0);
    const run = await compose('run', '--rm', 'bot', 'python3', '-c', "import socket; print('one-off sees', socket.gethostbyname('store') != '')");
    expect(run.code, run.out).toBe(0);
    expect(run.out).toMatch(/one-off sees True/);
    expect((await api.docker(['ps', '-aq', '--filter', 'label=com.docker.compose.oneoff=True'])).stdout).toBe('');
  });

  it('--scale bot=3, stop and start: every bot writes to the store, the data survives on the volume', async () => {
    const up = await compose('up', '-d', '--scale', 'bot=3');
    expect(up.code, up.out).toBe(0);
    const writers = await until(async () => {
      const logs = (await compose('logs', '--tail', '5', 'bot')).out;
      return ['c32t_bot_1', 'c32t_bot_2', 'c32t_bot_3'].every((b) => logs.includes(`wrote ${b}`)) || undefined;
    }, 60_000, 500);
    expect(writers).toBe(true);
    expect((await compose('stop', '-t', '1')).code).toBe(0);
    expect((await compose('ps')).out).not.toMatch(/ Up /);
    expect((await compose('start')).code).toBe(0);
    expect(await until(async () => (await page()).startsWith('last bot: c32t_bot_') || undefined, 60_000, 300)).toBe(true);
  });

  it("an app builder's server holds the Docker socket and starts a sibling with dockerode, on a port the host reaches", async () => {
    const d = api.docker;
    const up = await d(['run', '-d', '--name', 'builder', '-v', `${api.socket}:/var/run/docker.sock`, '-v', `${join(ROOT, 'node_modules')}:/srv/node_modules:ro`, '-v', `${join(project, 'server/server.js')}:/srv/server.js:ro`, 'host', 'node', '/srv/server.js']);
    expect(up.exitCode, up.stderr).toBe(0);
    const addr = await until(async () => /app published at (\S+)/.exec((await d(['logs', 'builder'])).stdout)?.[1], 60_000, 300);
    const body = await until(() => execa('curl', ['-s', '-m', '2', `http://${addr}/`], { reject: false }).then((r) => r.stdout === 'tenant app' || undefined), 30_000, 300);
    expect(body).toBe(true);
    expect((await d(['rm', '-f', 'builder', 'tenant-app'])).exitCode).toBe(0);
  });

  it('a service on a fixed host port is recreated when its definition changes, the new container on the same port', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'c32-recreate-'));
    const port = await new Promise<number>((r) => {
      const t = createServer().listen(0, '127.0.0.1', () => {
        const p = (t.address() as AddressInfo).port;
        t.close(() => r(p));
      });
    });
    writeFileSync(join(dir, 'docker-compose.yml'), [
      'version: "3.8"', 'services:', '  echo:', '    image: host',
      '    command: ["sh", "-c", "echo rev $$REV > /tmp/i; exec python3 -m http.server 8000 --directory /tmp"]',
      `    ports: ["127.0.0.1:${port}:8000"]`, '    environment: ["REV=${REV:-1}"]', '',
    ].join('\n'));
    const rc = (rev: string, ...args: string[]) => execa(COMPOSE, ['-p', 'c32rc', ...args], { cwd: dir, env: { ...api.dockerEnv, REV: rev }, reject: false, timeout: 180_000, all: true });
    const served = (want: string) => until(() => execa('curl', ['-s', '-m', '2', `http://127.0.0.1:${port}/i`], { reject: false }).then((r) => (r.stdout.trim() === want ? true : undefined)), 60_000, 300);
    try {
      expect((await rc('1', 'up', '-d')).exitCode).toBe(0);
      expect(await served('rev 1')).toBe(true);
      // compose stops the old container, creates the new one beside it on the same port, then removes the old
      const again = await rc('2', 'up', '-d');
      expect(again.exitCode, String(again.all)).toBe(0);
      expect(String(again.all)).toMatch(/Recreating c32rc_echo_1/);
      expect(await served('rev 2')).toBe(true);
    } finally {
      await rc('2', 'down', '-t', '0');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('down -v removes the containers, the network and the volume', async () => {
    const down = await compose('down', '-v', '-t', '1');
    expect(down.code, down.out).toBe(0);
    expect((await api.docker(['ps', '-aq'])).stdout).toBe('');
    expect((await api.docker(['network', 'ls', '-q', '--filter', 'type=custom'])).stdout).toBe('');
    expect((await api.docker(['volume', 'ls', '-q'])).stdout).toBe('');
  });
});
