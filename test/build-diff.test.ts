// One multi-stage Dockerfile built with DOCKER_BUILDKIT=0 docker build by dockerd's classic builder (Debian's
// docker.io, started here on its own socket and data root) and by codex32's /build: the same image config
// fields and the same files (paths, types, modes, owners, contents) where the build wrote.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loopbackRegistry } from './fixtures/oci.js';
import { DOCKER, dockerApi, spawnDockerd, type DockerApi } from './dockerapi-helpers.js';
import { missing } from './helpers.js';

const tools = [DOCKER, '/usr/sbin/dockerd', '/usr/bin/docker-registry', '/usr/bin/buildah'].filter((t) => !existsSync(t));
const skip = missing({ standard: true }) ?? (process.env.CI === 'true' || !tools.length ? undefined : `missing ${tools.join(', ')} (scripts/test-setup.sh installs them)`);
const work = mkdtempSync(join(tmpdir(), 'c32-bdiff-'));
let api: DockerApi;
let dockerd: ReturnType<typeof spawnDockerd> | undefined;
let dockerdUp = false;
let stopRegistry = () => undefined as void;
let reg = '';
const dockerdSock = join(work, 'dockerd.sock'); // spawnDockerd's

beforeAll(async () => {
  if (skip) return;
  dockerd = spawnDockerd(work);
  ({ reg, stop: stopRegistry } = await loopbackRegistry(work));
  api = await dockerApi('c32-bdiff-');
  dockerdUp = await dockerd.ready();
}, 300_000);
afterAll(async () => {
  await api?.stop();
  await dockerd?.stop();
  stopRegistry();
  execFileSync('sh', ['-c', `grep -q ' ${work}' /proc/mounts && awk '$2 ~ "^${work}" {print $2}' /proc/mounts | sort -r | xargs -r umount -l; true`]);
  rmSync(work, { recursive: true, force: true });
});

const DOCKERFILE = (b: string) => `ARG BASE=${b}
FROM \${BASE} AS builder
ARG WHO=nobody
RUN mkdir -p /out/sub && echo "built by $WHO" > /out/sub/made.txt && chmod 600 /out/sub/made.txt && ln -s sub/made.txt /out/link
FROM \${BASE}
ARG VERSION=1
ENV APP=/srv/app VERSION=$VERSION
WORKDIR $APP
COPY --from=builder /out/ ./built/
COPY --chown=1000:1000 a.txt sub/ ./
COPY *.cfg conf/
COPY . /srv/ctx/
ADD bundle.tar /opt/bundle/
USER app
LABEL team=builders version=$VERSION
EXPOSE 8080 9000/udp
VOLUME ["/data"]
STOPSIGNAL SIGINT
HEALTHCHECK --interval=5s --timeout=2s --retries=2 CMD test -f /srv/app/a.txt
ENTRYPOINT ["sh", "-c"]
CMD ["cat a.txt"]
`;

/** Every path under the directories the build wrote, with type, mode, owner, and size and digest of files. */
const TREE = 'find /srv /opt | sort | while read -r f; do stat -c "%n %F %a %u:%g" "$f"; if [ -f "$f" ] && [ ! -L "$f" ]; then echo "  $(wc -c < "$f") $(md5sum < "$f")"; fi; if [ -L "$f" ]; then echo "  -> $(readlink "$f")"; fi; done';

async function buildWith(host: string, dir: string): Promise<{ config: Record<string, unknown>; tree: string }> {
  const env = { DOCKER_HOST: host, DOCKER_CONFIG: join(work, 'cfg'), DOCKER_BUILDKIT: '0' };
  const b = await execa(DOCKER, ['build', '--network', 'none', '--build-arg', 'WHO=tester', '--build-arg', 'VERSION=7', '-t', 'diffbuilt:1', '.'], { cwd: dir, env, reject: false, timeout: 240_000 });
  expect(b.exitCode, `${host}\n${b.stdout}\n${b.stderr}`).toBe(0);
  const cfg = await execa(DOCKER, ['image', 'inspect', '-f', '{{json .Config}}', 'diffbuilt:1'], { env, reject: false });
  const full = JSON.parse(cfg.stdout) as Record<string, unknown>;
  const keys = ['Env', 'Cmd', 'Entrypoint', 'WorkingDir', 'User', 'ExposedPorts', 'Labels', 'Volumes', 'StopSignal', 'Healthcheck'];
  const config = Object.fromEntries(keys.map((k) => [k, full[k] ?? null]));
  const t = await execa(DOCKER, ['run', '--rm', '--network', 'none', '--user', '0', '--entrypoint', 'sh', 'diffbuilt:1', '-c', TREE], { env, reject: false, timeout: 120_000 });
  expect(t.exitCode, t.stderr).toBe(0);
  return { config, tree: t.stdout };
}

describe.skipIf(!!skip)('codex32 build against dockerd\'s classic builder', () => {
  it('gives the same config fields and file tree for a multi-stage Dockerfile', async (ctx) => {
    if (!dockerdUp) ctx.skip('dockerd did not start here (it needs its own cgroups and mounts)');
    const dir = join(work, 'ctx');
    mkdirSync(join(dir, 'sub'), { recursive: true });
    writeFileSync(join(dir, 'Dockerfile'), DOCKERFILE(`${reg}/test/app:1`));
    writeFileSync(join(dir, 'a.txt'), 'file a\n');
    writeFileSync(join(dir, 'sub', 's.txt'), 'file s\n');
    writeFileSync(join(dir, 'one.cfg'), 'one\n');
    writeFileSync(join(dir, 'two.cfg'), 'two\n');
    writeFileSync(join(dir, 'run.sh'), '#!/bin/sh\necho run\n', { mode: 0o755 });
    writeFileSync(join(dir, 'secret.txt'), 'not sent\n');
    writeFileSync(join(dir, '.dockerignore'), 'secret.txt\n*.tar\n!bundle.tar\n');
    const src = join(work, 'bundle-src');
    mkdirSync(join(src, 'bin'), { recursive: true });
    writeFileSync(join(src, 'bin', 'tool'), '#!/bin/sh\necho tool\n', { mode: 0o750 });
    writeFileSync(join(src, 'README'), 'in the bundle\n');
    execFileSync('tar', ['-cf', join(dir, 'bundle.tar'), '--owner=5', '--group=6', '--numeric-owner', '-C', src, 'bin', 'README']);
    const theirs = await buildWith(`unix://${dockerdSock}`, dir);
    const ours = await buildWith(`unix://${api.socket}`, dir);
    expect(ours.config).toEqual(theirs.config);
    expect(ours.tree).toBe(theirs.tree);
    expect(ours.tree).toMatch(/\/srv\/app\/built\/sub\/made.txt regular file 600 0:0\n {2}16 /);
    expect(ours.tree).toMatch(/\/opt\/bundle\/bin\/tool regular file 750 5:6/);
  }, 600_000);
});
