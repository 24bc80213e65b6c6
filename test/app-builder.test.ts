// The app builder's product flow on codex32, at standard and strict, through the library (the example
// ContainerRuntime in examples/app-builder, as an app imports it) and through dockerode against the
// Docker API: upload an app, `npm install` inside, its dev server on 3001, the page through the published
// port, an upload that changes it, downloads. The image is built in the set-up, FROM a base pulled from a
// loopback registry, with the host's node and npm; the app's one dependency is a local tarball, so
// npm really installs (and caches) without the internet.
import { execa } from 'execa';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { PassThrough, Readable } from 'node:stream';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContainerEngine } from 'codex32';
import { CodexRuntime } from '../examples/app-builder/runtime.js';
import { privateNetworkMissing } from '../src/engine/network.js';
import { dockerApi, type DockerApi } from './dockerapi-helpers.js';
import { loopbackRegistry, rawTar } from './fixtures/oci.js';
import { missing, until } from './helpers.js';

const tools = ['/usr/bin/docker-registry', '/usr/bin/buildah', '/usr/bin/npm'].filter((t) => !existsSync(t));
const skip = missing({ standard: true, strict: true, cgroup: ['memory', 'pids', 'cpu'] }) ??
  (process.env.CI === 'true' ? undefined : privateNetworkMissing()[0] ?? (tools.length ? `missing ${tools.join(', ')} (scripts/test-setup.sh installs them)` : undefined));
const work = mkdtempSync(join(tmpdir(), 'c32-appb-'));
const IMAGE = 'nodeapp:1';
let api: DockerApi;
let engine: ContainerEngine;
let docker: Docker;
let stopRegistry = () => undefined as void;

/** The host's node, its libraries and npm as a root file tree: a node image without the internet. */
function nodeRootfs(root: string): void {
  const put = (src: string, dst = src) => {
    mkdirSync(dirname(join(root, dst)), { recursive: true });
    copyFileSync(realpathSync(src), join(root, dst));
  };
  const node = realpathSync(process.execPath);
  put(node, '/usr/bin/node');
  let libs = '';
  try {
    libs = execFileSync('ldd', [node], { encoding: 'utf8' });
  } catch {
    /* a static node needs no libraries: ldd says so and fails */
  }
  for (const m of libs.matchAll(/(\/\S+\.so[.\d]*)/g)) put(m[1]);
  const npm = dirname(dirname(realpathSync('/usr/bin/npm')));
  cpSync(npm, join(root, '/usr/lib/node_modules/npm'), { recursive: true });
  mkdirSync(join(root, 'usr/local/bin'), { recursive: true });
  writeFileSync(join(root, 'usr/local/bin/npm'), '#!/bin/sh\nexec node /usr/lib/node_modules/npm/bin/npm-cli.js "$@"\n', { mode: 0o755 });
}

/** The generated app: a dev server that serves src/ through its one dependency, and a version that changes with each upload (what HMR polls). */
async function appFiles(): Promise<Array<{ path: string; content: Buffer }>> {
  const dep = join(work, 'greet');
  mkdirSync(join(dep, 'package'), { recursive: true });
  writeFileSync(join(dep, 'package/package.json'), JSON.stringify({ name: 'greet', version: '1.0.0', main: 'index.js' }));
  writeFileSync(join(dep, 'package/index.js'), 'module.exports = (who) => `<h1>Hello ${who}</h1>`;\n');
  await execa('tar', ['-czf', join(dep, 'greet-1.0.0.tgz'), '-C', dep, 'package']);
  const server = `const http = require('http'), fs = require('fs'), path = require('path');
const greet = require('greet');
const src = path.join(__dirname, 'src');
http.createServer((req, res) => {
  const file = path.join(src, req.url === '/' || req.url === '/__version' ? 'index.html' : path.normalize(req.url));
  if (req.url === '/__version') return res.end(require('crypto').createHash('sha1').update(fs.readFileSync(file)).digest('hex'));
  fs.readFile(file, 'utf8', (err, text) => err ? (res.statusCode = 404, res.end('not found')) : res.end(text.replace('<!--greet-->', greet('codex32'))));
}).listen(3001, '0.0.0.0', () => console.log('dev server on 3001'));
`;
  const files: Record<string, string | Buffer> = {
    'package.json': JSON.stringify({ name: 'app', version: '1.0.0', private: true, scripts: { dev: 'node server.js' }, dependencies: { greet: 'file:vendor/greet-1.0.0.tgz' } }, null, 2),
    '.npmrc': 'offline=true\naudit=false\nfund=false\nupdate-notifier=false\n', // never the internet
    'server.js': server,
    'src/index.html': '<!--greet--><p>v1</p>\n',
    'vendor/greet-1.0.0.tgz': readFileSync(join(dep, 'greet-1.0.0.tgz')),
  };
  return Object.entries(files).map(([p, c]) => ({ path: `/app/${p}`, content: Buffer.from(c) }));
}

beforeAll(async () => {
  if (skip) return;
  const r = await loopbackRegistry(work);
  stopRegistry = r.stop;
  api = await dockerApi('c32-appb-api-');
  const ctx = join(work, 'image');
  nodeRootfs(join(ctx, 'rootfs'));
  writeFileSync(join(ctx, 'Dockerfile'), `FROM ${r.reg}/test/app:1\nCOPY rootfs/ /\nENV PATH=/usr/local/bin:/usr/bin:/bin\nWORKDIR /app\nHEALTHCHECK NONE\n`);
  const built = await api.cli(['build', '-q', '-t', IMAGE, ctx], { timeout: 300_000 });
  if (built.exitCode !== 0) throw new Error(`build failed: ${String(built.stderr)}`);
  engine = new ContainerEngine({ storageDir: api.storage });
  docker = new Docker({ socketPath: api.socket });
}, 400_000);
afterAll(async () => {
  engine?.close();
  await api?.stop();
  stopRegistry();
  rmSync(work, { recursive: true, force: true });
});

/** One front end of the engine, as the app builder's backend drives it. */
interface Front {
  upload(files: Array<{ path: string; content: Buffer }>): Promise<void>;
  run(cmd: string[]): Promise<{ code: number; out: string; err: string }>;
  url(): Promise<string>;
  download(paths: string[]): Promise<Map<string, string>>;
  remove(): Promise<void>;
}

/** The container waits for node_modules, then its main process is the dev server (`npm run dev`). */
const DEV = ['sh', '-c', 'until [ -d /app/node_modules/greet ]; do sleep 0.2; done; exec npm run dev'];

async function library(level: 'standard' | 'strict', name: string): Promise<Front> {
  const rt = new CodexRuntime(engine);
  const id = await rt.createContainer(name, { image: IMAGE, command: DEV, port: 3001, isolation: level });
  return {
    upload: (files) => rt.uploadFiles(id, files),
    run: async (cmd) => {
      const r = await rt.executeCommand(id, cmd, { cwd: '/app', timeoutMs: 240_000 });
      return { code: r.exitCode, out: r.stdout, err: r.stderr };
    },
    url: () => rt.getContainerUrl(id, 3001),
    download: async (paths) => new Map([...(await rt.downloadFiles(id, paths))].map(([p, b]) => [p, b.toString()])),
    remove: () => rt.stopContainer(id),
  };
}

async function dockerode(level: 'standard' | 'strict', name: string): Promise<Front> {
  const c = await docker.createContainer({
    Image: IMAGE,
    name,
    Cmd: DEV,
    Labels: { 'codex32.isolation': level },
    ExposedPorts: { '3001/tcp': {} },
    HostConfig: {
      Memory: 512 * 2 ** 20, CpuQuota: 50000, PidsLimit: 100, CapDrop: ['ALL'], CapAdd: ['CHOWN', 'SETUID', 'SETGID'],
      SecurityOpt: ['no-new-privileges'], NetworkMode: 'bridge', PortBindings: { '3001/tcp': [{ HostIp: '127.0.0.1', HostPort: '0' }] },
    },
  });
  await c.start();
  return {
    upload: async (files) => {
      const names = files.map((f) => f.path.replace(/^\/app\//, ''));
      const dirs = [...new Set(names.filter((n) => n.includes('/')).map((n) => `${dirname(n)}/`))];
      const entries = [...dirs.map((d) => ({ name: d, type: '5' as const })), ...files.map((f, i) => ({ name: names[i], data: f.content }))];
      await c.putArchive(Readable.from([rawTar(entries)]), { path: '/app' });
    },
    run: async (cmd) => {
      const exec = await c.exec({ Cmd: cmd, WorkingDir: '/app', AttachStdout: true, AttachStderr: true });
      const stream = await exec.start({ Detach: false });
      const out = new PassThrough();
      const err = new PassThrough();
      const got = { out: '', err: '' };
      out.on('data', (d: Buffer) => (got.out += d.toString()));
      err.on('data', (d: Buffer) => (got.err += d.toString()));
      docker.modem.demuxStream(stream, out, err);
      await new Promise((r) => stream.on('end', r));
      return { code: (await exec.inspect()).ExitCode ?? -1, ...got };
    },
    url: async () => {
      const b = (await c.inspect()).NetworkSettings.Ports['3001/tcp']![0];
      return `http://${b.HostIp}:${b.HostPort}`;
    },
    download: async (paths) => {
      const out = new Map<string, string>();
      for (const p of paths) {
        const chunks: Buffer[] = [];
        for await (const d of await c.getArchive({ path: p })) chunks.push(d as Buffer);
        const tar = Buffer.concat(chunks); // one file: its header, then its bytes
        out.set(p, tar.subarray(512, 512 + parseInt(tar.subarray(124, 136).toString(), 8)).toString());
      }
      return out;
    },
    remove: () => c.remove({ force: true }),
  };
}

/** The flow itself: the same steps whatever the level and the front end. */
async function flow(front: Front, level: string): Promise<void> {
  await front.upload(await appFiles());
  const install = await front.run(['npm', 'install']);
  expect(install.code, install.err).toBe(0);
  expect(install.out).toMatch(/added 1 package/);
  // npm wrote its cache under HOME (/root, the image's user): writable at strict too
  const where = await front.run(['sh', '-c', 'cat node_modules/greet/package.json; echo; c=$(npm config get cache); echo $c; ls $c/_cacache | grep -c .; touch /usr/x 2>&1; id -u']);
  expect(where.out).toMatch(/^\{"name":"greet","version":"1.0.0".*\}\n\/root\/\.npm\n[1-9]\d*\n/);
  if (level === 'strict') expect(where.out).toMatch(/Read-only file system\n0\n$/);

  const url = await front.url();
  expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  const page = async () => (await fetch(url).catch(() => undefined))?.text();
  expect(await until(page, 90_000, 200)).toBe('<h1>Hello codex32</h1><p>v1</p>\n');
  const v1 = await (await fetch(`${url}/__version`)).text();

  await front.upload([{ path: '/app/src/index.html', content: Buffer.from('<!--greet--><p>v2</p>\n') }]);
  const changed = async () => {
    const p = await page();
    return p?.includes('v2') ? p : undefined;
  };
  expect(await until(changed, 20_000)).toBe('<h1>Hello codex32</h1><p>v2</p>\n');
  expect(await (await fetch(`${url}/__version`)).text()).not.toBe(v1);

  const files = await front.download(['/app/package-lock.json', '/app/src/index.html']);
  expect(JSON.parse(files.get('/app/package-lock.json')!).packages['node_modules/greet']).toMatchObject({ version: '1.0.0' });
  expect(files.get('/app/src/index.html')).toBe('<!--greet--><p>v2</p>\n');
  await front.remove();
  expect(await fetch(url).then(() => 'answered', () => 'refused')).toBe('refused');
}

describe.skipIf(!!skip)(`the app builder's flow${skip ? ` (skipped: ${skip})` : ''}`, () => {
  for (const level of ['standard', 'strict'] as const) {
    it(`through the library at ${level}: upload, npm install, dev server, page, change, download`, async () => {
      await flow(await library(level, `lib-${level}`), level);
    }, 300_000);
    it(`through dockerode at ${level}: upload, npm install, dev server, page, change, download`, async () => {
      await flow(await dockerode(level, `dockerode-${level}`), level);
    }, 300_000);
  }

  it('through dockerode at strict, CapAdd SYS_ADMIN is refused with why, and no container is left', async () => {
    const create = docker.createContainer({ Image: IMAGE, name: 'refused', Labels: { 'codex32.isolation': 'strict' }, HostConfig: { CapAdd: ['SYS_ADMIN'] } });
    await expect(create).rejects.toMatchObject({ statusCode: 400, message: expect.stringMatching(/SYS_ADMIN stays refused at strict because it mounts file systems/) });
    await expect(docker.getContainer('refused').inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  it('the example runtime: a page served, changed with uploadFiles, commands run and files downloaded', async () => {
    const rt = new CodexRuntime(engine);
    const id = await rt.createContainer('u1', { image: 'host', command: ['sh', '-c', 'mkdir -p /srv && exec busybox httpd -f -p 3001 -h /srv'], port: 3001 });
    await rt.uploadFiles(id, [{ path: '/srv/index.html', content: '<h1>v1</h1>\n' }]);
    const url = await rt.getContainerUrl(id, 3001);
    const get = async () => (await fetch(`${url}/index.html`).catch(() => undefined))?.text();
    expect(await until(get, 20_000)).toBe('<h1>v1</h1>\n');
    await rt.uploadFiles(id, [{ path: '/srv/index.html', content: '<h1>v2</h1>\n' }, { path: '/srv/app/run.sh', content: 'echo run\n', mode: 0o755 }]);
    expect(await get()).toBe('<h1>v2</h1>\n');

    const r = await rt.executeCommand(id, ['sh', '-c', 'printf "a\\n\\n\\n"; echo $GREETING >&2; pwd; exit 3'], { env: { GREETING: 'hi' }, cwd: '/srv/app' });
    expect(r).toEqual({ exitCode: 3, stdout: 'a\n\n\n/srv/app\n', stderr: 'hi\n', timedOut: false });
    const slow = await rt.executeCommand(id, ['sleep', '30'], { timeoutMs: 300 });
    expect(slow.timedOut).toBe(true);
    expect((await rt.executeCommand(id, ['id', '-u'], { user: '1000' })).stdout).toBe('1000\n');

    const files = await rt.downloadFiles(id, ['/srv/index.html', '/srv/app/run.sh']);
    expect(files.get('/srv/index.html')?.toString()).toBe('<h1>v2</h1>\n');
    expect(files.get('/srv/app/run.sh')?.toString()).toBe('echo run\n');
    await expect(rt.downloadFiles(id, ['/srv/missing'])).rejects.toMatchObject({ code: 'NO_SUCH_PATH' });

    await rt.stopContainer(id);
    expect((await engine.list({ all: true })).map((c) => c.name)).not.toContain('app-u1');
    expect(await fetch(`${url}/index.html`).then(() => 'answered', () => 'refused')).toBe('refused');
  }, 120_000);
});
