// codex32 build and the Docker API's /build, on an image pulled from a loopback docker-registry: multi-stage
// builds, every supported instruction in the image config and file tree, the layer cache, refusals, and
// DOCKER_BUILDKIT=0 docker build, docker-compose build, and the app builder's development stack (a server built by
// compose from ./apps/server, holding the Docker socket) against `codex32 system service`.
import { execa } from 'execa';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loopbackRegistry } from './fixtures/oci.js';
import { DOCKER, dockerApi, type DockerApi } from './dockerapi-helpers.js';
import { missing, ROOT, until } from './helpers.js';

const tools = ['/usr/bin/docker-registry', '/usr/bin/buildah', DOCKER].filter((t) => !existsSync(t));
const skip = missing({ standard: true }) ?? (process.env.CI === 'true' || !tools.length ? undefined : `missing ${tools.join(', ')} (scripts/test-setup.sh installs them)`);
const work = mkdtempSync(join(tmpdir(), 'c32-build-'));
let api: DockerApi;
let stopRegistry = () => undefined as void;
let base = '';
let reg = '';

/** Write a context directory: files by relative path. */
function context(name: string, files: Record<string, string>): string {
  const dir = join(work, name);
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(join(dir, p, '..'), { recursive: true });
    writeFileSync(join(dir, p), text);
  }
  return dir;
}

const ok = (r: { exitCode?: number; stderr?: unknown; stdout?: unknown }) => expect(r.exitCode, `${String(r.stdout)}\n${String(r.stderr)}`).toBe(0);
const inspectImage = async (ref: string) => JSON.parse(String((await api.cli(['image', 'inspect', ref])).stdout))[0] as { Id: string; Config: Record<string, any> };

beforeAll(async () => {
  if (skip) return;
  const r = await loopbackRegistry(work);
  stopRegistry = r.stop;
  reg = r.reg;
  base = `${r.reg}/test/app:1`; // busybox, WORKDIR /srv/work, ENV GREETING, CMD, a label, /etc/passwd with app (1000)
  api = await dockerApi('c32-build-');
  // a tar for ADD: it is unpacked, not copied
  const tarSrc = join(work, 'tarsrc');
  mkdirSync(tarSrc);
  writeFileSync(join(tarSrc, 'in-tar.txt'), 'from the archive\n');
  mkdirSync(join(work, 'multi'), { recursive: true });
  await execa('tar', ['-czf', join(work, 'multi', 'bundle.tgz'), '-C', tarSrc, '.']);
}, 300_000);
afterAll(async () => {
  await api?.stop();
  stopRegistry();
  rmSync(work, { recursive: true, force: true });
});

const MULTI = (b: string) => `ARG BASE=${b}
FROM \${BASE} AS builder
ARG GREETING_ARG=hi
RUN echo "$GREETING_ARG from the builder" > /built.txt && echo building-now
FROM \${BASE}
ENV APP=/srv/app TIER="two words"
WORKDIR $APP
COPY --from=builder /built.txt ./
COPY --chown=1000:1000 a.txt sub/ ./
COPY . /ctx/
ADD bundle.tgz /opt/
USER app
LABEL team=builders "org.example.v"="1 2"
EXPOSE 8080 9000/udp
VOLUME ["/data"]
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=5s --retries=2 CMD test -f /srv/app/a.txt
ENTRYPOINT ["sh", "-c"]
CMD ["cat /srv/app/built.txt /srv/app/a.txt; id -u"]
`;

describe.skipIf(!!skip)('codex32 build', () => {
  it('builds a multi-stage Dockerfile into an image whose config, files and history are docker\'s, and runs it', async () => {
    const dir = context('multi', { 'Dockerfile': MULTI(base), 'a.txt': 'file a\n', 'sub/s.txt': 'file s\n', 'secret.txt': 'never sent\n', '.dockerignore': 'secret.txt\n*.tgz\n!bundle.tgz\n' });
    const r = await api.cli(['build', '-t', 'built:1', '-t', 'built:latest', '--build-arg', 'GREETING_ARG=yo', '--label', 'from=cli', dir]);
    ok(r);
    const out = String(r.stdout);
    expect(out).toMatch(/^Step 1\/19 : FROM \$\{BASE\} AS builder\n/);
    expect(out).toMatch(/Step 3\/19 : RUN echo .*\n ---> Running in [a-f0-9]{12}\nbuilding-now\nRemoving intermediate container [a-f0-9]{12}\n ---> [a-f0-9]{12}\n/);
    expect(out).toMatch(/Step 18\/19 : CMD \["cat \/srv\/app\/built.txt \/srv\/app\/a.txt; id -u"\]\n ---> [a-f0-9]{12}\nStep 19\/19 : LABEL "from"="cli"\n ---> ([a-f0-9]{12})\nSuccessfully built \1\nSuccessfully tagged built:1\nSuccessfully tagged built:latest$/);

    const img = await inspectImage('built:1');
    const c = img.Config;
    expect(c.Env).toEqual(expect.arrayContaining(['GREETING=hello from env', 'APP=/srv/app', 'TIER=two words']));
    expect(c.WorkingDir).toBe('/srv/app');
    expect(c.User).toBe('app');
    expect(c.Entrypoint).toEqual(['sh', '-c']);
    expect(c.Cmd).toEqual(['cat /srv/app/built.txt /srv/app/a.txt; id -u']);
    expect(c.ExposedPorts).toEqual({ '8080/tcp': {}, '9000/udp': {} });
    expect(c.Labels).toMatchObject({ team: 'builders', 'org.example.v': '1 2', from: 'cli' });
    expect(c.Volumes).toEqual({ '/data': {} });
    expect(c.StopSignal).toBe('SIGTERM');
    expect(c.Healthcheck).toEqual({ Test: ['CMD-SHELL', 'test -f /srv/app/a.txt'], Interval: 5e9, Retries: 2 });
    expect(img.Id.slice(7, 19)).toBe(/Successfully built ([a-f0-9]{12})/.exec(out)![1]);

    const run = await api.cli(['run', '--rm', 'built:1']);
    ok(run);
    expect(String(run.stdout)).toBe('yo from the builder\nfile a\n1000');
    const files = await api.cli(['run', '--rm', '--entrypoint', 'sh', 'built:1', '-c', 'cd / && stat -c "%n %u:%g %a" srv/app srv/app/a.txt srv/app/s.txt srv/app/built.txt opt/in-tar.txt; ls -A ctx; cat opt/in-tar.txt']);
    ok(files);
    expect(String(files.stdout).split('\n')).toEqual([
      'srv/app 0:0 755', 'srv/app/a.txt 1000:1000 644', 'srv/app/s.txt 1000:1000 644', 'srv/app/built.txt 0:0 644', 'opt/in-tar.txt 0:0 644',
      '.dockerignore', 'Dockerfile', 'a.txt', 'bundle.tgz', 'sub', // secret.txt left out by .dockerignore
      'from the archive',
    ]);
    // history as docker's classic builder writes it: one entry per step, metadata steps with empty_layer
    const config = JSON.parse(readFileSync(join(api.storage, 'oci', 'blobs', 'sha256', img.Id.slice(7)), 'utf8')) as { history: Array<{ created_by: string; empty_layer?: boolean }>; rootfs: { diff_ids: string[] } };
    const ours = config.history.slice(-15); // the final stage's 14 steps and the --label
    expect(ours.map((h) => !!h.empty_layer)).toEqual([true, false, false, false, false, false, true, true, true, true, true, true, true, true, true]);
    expect(ours.find((h) => h.created_by.includes('COPY file:'))?.created_by).toMatch(/^\/bin\/sh -c #\(nop\) COPY file:[a-f0-9]{64} in \/srv\/app\/ $/);
    expect(ours.find((h) => h.created_by.includes('ENV'))).toEqual(expect.objectContaining({ created_by: '/bin/sh -c #(nop)  ENV APP=/srv/app TIER="two words"', empty_layer: true }));
    expect(config.history.filter((h) => !h.empty_layer)).toHaveLength(config.rootfs.diff_ids.length);
    // an ordinary image: it pushes, saves and loads back
    ok(await api.cli(['push', 'built:1', `${reg}/test/built:1`]));
    expect((await fetch(`http://${reg}/v2/test/built/manifests/1`, { headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json' } })).ok).toBe(true);
    const archive = join(work, 'built.tar');
    ok(await api.cli(['save', '-o', archive, 'built:1']));
    ok(await api.cli(['rmi', 'built:1', 'built:latest']));
    ok(await api.cli(['load', '-i', archive]));
    expect(String((await api.cli(['run', '--rm', 'built:1'])).stdout)).toBe('yo from the builder\nfile a\n1000');
  }, 300_000);

  it('finds every step in the cache on a second build, and re-runs from the COPY of a changed file', async () => {
    const dir = context('cache', {
      'Dockerfile': `FROM ${base}\nRUN echo one > /one.txt\nCOPY a.txt /a.txt\nRUN cat /a.txt > /copy.txt\nCOPY b.txt /b.txt\nCMD ["cat", "/copy.txt"]\n`,
      'a.txt': 'first\n', 'b.txt': 'b\n',
    });
    ok(await api.cli(['build', '-t', 'cached:1', dir]));
    const again = await api.cli(['build', '-t', 'cached:1', dir]);
    ok(again);
    expect(String(again.stdout).match(/ ---> Using cache/g)).toHaveLength(5);
    expect(String(again.stdout)).not.toMatch(/Running in/);
    writeFileSync(join(dir, 'b.txt'), 'b\n'); // rewritten, same content: still cached
    writeFileSync(join(dir, 'a.txt'), 'second\n');
    const changed = String((await api.cli(['build', '-t', 'cached:1', dir])).stdout);
    expect(changed).toMatch(/Step 2\/6 : RUN echo one > \/one.txt\n ---> Using cache\n/);
    expect(changed).toMatch(/Step 3\/6 : COPY a.txt \/a.txt\n ---> [a-f0-9]{12}\n/);
    expect(changed).toMatch(/Step 4\/6 : RUN cat \/a.txt > \/copy.txt\n ---> Running in/);
    expect(changed.match(/Using cache/g)).toHaveLength(1);
    expect(String((await api.cli(['run', '--rm', 'cached:1'])).stdout)).toBe('second');
    const fresh = String((await api.cli(['build', '--no-cache', '-q', '-t', 'cached:2', dir])).stdout);
    expect(fresh).toMatch(/^sha256:[a-f0-9]{64}$/);
  }, 300_000);

  it('builds up to --target, and refuses unsupported instructions, ADD of a URL and a failing RUN with docker\'s words', async () => {
    const dir = context('target', { 'Dockerfile': `FROM ${base} AS first\nLABEL stage=first\nFROM first\nLABEL stage=second\n` });
    ok(await api.cli(['build', '--target', 'first', '-t', 'staged:1', dir]));
    expect((await inspectImage('staged:1')).Config.Labels.stage).toBe('first');
    const bad = await api.cli(['build', context('onbuild', { 'Dockerfile': `FROM ${base}\n\nONBUILD RUN echo x\n` })]);
    expect(bad.exitCode).not.toBe(0);
    expect(String(bad.stderr)).toMatch(/Dockerfile line 3: ONBUILD is not supported by codex32 build/);
    const url = await api.cli(['build', context('url', { 'Dockerfile': `FROM ${base}\nADD https://example.com/x.tgz /x/\n` })]);
    expect(String(url.stderr)).toMatch(/line 2: ADD of a URL \(https:\/\/example.com\/x.tgz\) is not supported/);
    // a link from one source and a directory of the same name from another: nothing is written through the link
    const victim = join(work, 'victim');
    mkdirSync(victim);
    const linkDir = context('linked', { 'Dockerfile': `FROM ${base}\nCOPY a/ b/ /dst/\n`, 'b/x/passwd': 'owned\n' });
    mkdirSync(join(linkDir, 'a'));
    symlinkSync(victim, join(linkDir, 'a', 'x'));
    ok(await api.cli(['build', '-t', 'linked:1', linkDir]));
    expect(existsSync(join(victim, 'passwd'))).toBe(false);
    expect(String((await api.cli(['run', '--rm', 'linked:1', 'cat', '/dst/x/passwd'])).stdout)).toBe('owned'); // the later source wins
    const fails = await api.cli(['build', context('fails', { 'Dockerfile': `FROM ${base}\nRUN echo before; exit 3\n` })]);
    expect(fails.exitCode).not.toBe(0);
    expect(String(fails.stdout)).toMatch(/before\n/);
    expect(String(fails.stderr)).toMatch(/The command '\/bin\/sh -c echo before; exit 3' returned a non-zero code: 3/);
    expect(String((await api.cli(['ps', '-aq'])).stdout)).toBe(''); // the step's container is removed
    // an unpacked root is no base: refused by name, never pulled from a registry under the same name
    const root = await api.cli(['build', context('fromhost', { 'Dockerfile': 'FROM host\nRUN true\n' })]);
    expect(root.exitCode).toBe(125);
    expect(String(root.stderr)).toMatch(/Cannot build FROM host: it is the built-in host image, not an image of layers/);
    expect(String(root.stdout)).not.toMatch(/Pulling/);
  }, 300_000);
});

describe.skipIf(!!skip)('POST /build', () => {
  it('builds with DOCKER_BUILDKIT=0 docker build, streaming docker\'s messages', async () => {
    const dir = context('api', { 'Dockerfile': `FROM ${base}\nCOPY f.txt /f.txt\nRUN cat /f.txt\nCMD ["cat", "/f.txt"]\n`, 'f.txt': 'via the api\n' });
    const r = await execa(DOCKER, ['build', '-t', 'apibuilt:1', '--build-arg', 'UNUSED=1', '.'], { cwd: dir, env: { ...api.dockerEnv, DOCKER_BUILDKIT: '0' }, reject: false });
    ok(r);
    expect(r.stdout).toMatch(/Step 1\/4 : FROM .*\n ---> [a-f0-9]{12}\nStep 2\/4 : COPY f.txt \/f.txt\n/);
    expect(r.stdout).toMatch(/Running in [a-f0-9]{12}\nvia the api\nRemoving intermediate container/);
    expect(r.stdout).toMatch(/Successfully built [a-f0-9]{12}\nSuccessfully tagged apibuilt:1/);
    expect(r.stdout + r.stderr).toMatch(/build-args \[UNUSED\] were not consumed/);
    expect((await api.docker(['run', '--rm', 'apibuilt:1'])).stdout).toBe('via the api');
    // a failing step comes back as docker's in-stream error, and the CLI exits non-zero
    writeFileSync(join(dir, 'Dockerfile'), `FROM ${base}\nRUN exit 7\n`);
    const bad = await execa(DOCKER, ['build', '.'], { cwd: dir, env: { ...api.dockerEnv, DOCKER_BUILDKIT: '0' }, reject: false });
    expect(bad.exitCode).not.toBe(0);
    expect(bad.stderr).toMatch(/returned a non-zero code: 7/);
    // a parameter codex32 does not apply is refused by name
    const refused = await new Promise<{ status?: number; body: string }>((resolve, reject) => {
      const req = request({ socketPath: api.socket, path: '/v1.41/build?squash=1', method: 'POST' }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d)).on('end', () => resolve({ status: res.statusCode, body }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(refused.status).toBe(400);
    expect(refused.body).toMatch(/squash=1 is not supported/);
  }, 300_000);

  it.skipIf(!existsSync('/usr/bin/docker-compose'))('builds a compose service with build: ./app', async () => {
    const dir = context('compose', {
      'docker-compose.yml': 'version: "3"\nservices:\n  bot:\n    build: ./app\n    image: ceo/bot:1\n',
      'app/Dockerfile': `FROM ${base}\nRUN echo composed > /c.txt\nCMD ["cat", "/c.txt"]\n`,
    });
    const r = await execa('docker-compose', ['build'], { cwd: dir, env: { ...api.dockerEnv }, reject: false });
    ok(r);
    expect(r.stdout + r.stderr).toMatch(/Successfully tagged ceo\/bot:1/);
    expect(String((await api.cli(['run', '--rm', 'ceo/bot:1'])).stdout)).toBe('composed');
  }, 300_000);

  it.skipIf(!existsSync('/usr/bin/docker-compose'))("the app builder's development stack: a server built from ./apps/server that holds the Docker socket starts a sibling", async () => {
    // the plan's shape: `build: ./apps/server`, the socket mounted, the server starting each user's app as a
    // sibling with dockerode; the image is the test registry's busybox, the host's node bound read-only
    const dir = context('appbuilder', {
      'docker-compose.yml': [
        'version: "3.8"',
        'services:',
        '  server:',
        '    build: ./apps/server',
        '    image: appbuilder/server:dev',
        '    volumes:',
        `      - "${api.socket}:/var/run/docker.sock"`,
        '      - "/usr:/usr:ro"',
        '      - "/lib:/lib:ro"',
        '      - "/lib64:/lib64:ro"',
        ...(process.execPath.startsWith('/usr/') ? [] : [`      - "${dirname(dirname(process.execPath))}:${dirname(dirname(process.execPath))}:ro"`]),
        `      - "${join(ROOT, 'node_modules')}:/srv/node_modules:ro"`,
        '',
      ].join('\n'),
      'apps/server/Dockerfile': `FROM ${base}\nCOPY server.js /srv/server.js\nCMD ["${process.execPath}", "/srv/server.js"]\n`,
    });
    copyFileSync(join(ROOT, 'test/fixtures/compose/server/server.js'), join(dir, 'apps/server/server.js'));
    const compose = (...args: string[]) => execa('docker-compose', ['-p', 'appb', ...args], { cwd: dir, env: { ...api.dockerEnv }, reject: false, all: true });
    try {
      const up = await compose('up', '-d');
      expect(up.exitCode, String(up.all)).toBe(0);
      expect(String(up.all)).toMatch(/Successfully tagged appbuilder\/server:dev/);
      const addr = await until(async () => /app published at (\S+)/.exec(String((await compose('logs', 'server')).all))?.[1], 60_000, 300);
      const served = await until(() => execa('curl', ['-s', '-m', '2', `http://${addr}/`], { reject: false }).then((r) => r.stdout === 'tenant app' || undefined), 30_000, 300);
      expect(served).toBe(true);
    } finally {
      await api.docker(['rm', '-f', 'tenant-app']);
      const down = await compose('down', '-t', '1');
      expect(down.exitCode, String(down.all)).toBe(0);
    }
  }, 300_000);
});
