// Helpers of the benches that run beside dockerd: a loopback registry holding a small base image, a private
// dockerd on its own socket and data root, and cleanup of what dockerd leaves mounted.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { BIN } from './lib.mjs';

/** Resolve after ms milliseconds. */
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Poll fn every 100 ms until it is truthy; throws after 30 s naming what did not come up. */
export async function waitFor(fn, what) {
  for (let i = 0; i < 300; i++) {
    if (await fn()) return;
    await sleep(100);
  }
  throw new Error(`${what} did not come up`);
}

const freePort = () =>
  new Promise((res) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => res(p));
    });
  });

/**
 * docker-registry on a free loopback port with one image pushed by buildah: kind 'busybox' (a static busybox
 * and its applets: a shell for build steps) or 'usr' (symlinks to /usr, /etc and /tmp: the host's /usr is
 * bound in at run). Resolves to { reg, image, stop }.
 */
export async function loopbackRegistry(work, kind) {
  const reg = `127.0.0.1:${await freePort()}`;
  writeFileSync(join(work, 'registry.yml'), `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${join(work, 'registry')}\nhttp:\n  addr: ${reg}\n`);
  const registry = spawn('docker-registry', ['serve', join(work, 'registry.yml')], { stdio: 'ignore' });
  const B = ['buildah', '--root', join(work, 'broot'), '--runroot', join(work, 'brun'), '--storage-driver', 'vfs'];
  const bah = (args) => execFileSync(B[0], [...B.slice(1), ...args], { encoding: 'utf8' }).trim();
  const c = bah(['from', 'scratch']);
  const m = bah(['mount', c]);
  for (const d of ['etc', 'tmp']) mkdirSync(join(m, d));
  writeFileSync(join(m, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n');
  writeFileSync(join(m, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
  if (kind === 'busybox') {
    mkdirSync(join(m, 'bin'));
    execFileSync('cp', ['/bin/busybox', join(m, 'bin/busybox')]);
    execFileSync('/bin/busybox', ['--install', '-s', join(m, 'bin')]);
    execFileSync('sh', ['-c', `cd ${join(m, 'bin')} && for l in *; do [ -L "$l" ] && ln -sf busybox "$l"; done`]);
  } else {
    mkdirSync(join(m, 'usr'));
    for (const [l, t] of [['bin', 'usr/bin'], ['lib', 'usr/lib'], ['lib64', 'usr/lib64'], ['sbin', 'usr/sbin']]) symlinkSync(t, join(m, l));
  }
  bah(['commit', '-q', c, `localhost/bench-${kind}:1`]);
  await waitFor(() => fetch(`http://${reg}/v2/`).then((r) => r.ok, () => false), 'the registry');
  bah(['push', '-q', '--tls-verify=false', `localhost/bench-${kind}:1`, `docker://${reg}/bench/${kind}:1`]);
  return { reg, image: `${reg}/bench/${kind}:1`, stop: () => void registry.kill('SIGTERM') };
}

/** dockerd on its own socket, data root and exec root under work (no default bridge, no iptables, vfs): the anchor. */
export function spawnDockerd(work) {
  const sock = join(work, 'dockerd.sock');
  const proc = spawn('dockerd', ['--iptables=false', '--ip6tables=false', '--bridge=none', '--storage-driver', 'vfs', '--data-root', join(work, 'dd-data'), '--exec-root', join(work, 'dd-exec'), '--pidfile', join(work, 'dd.pid'), '-H', `unix://${sock}`], { stdio: 'ignore' });
  const stop = async () => {
    proc.kill('SIGTERM');
    if (proc.exitCode === null) await new Promise((r) => proc.once('exit', r));
  };
  return { sock, proc, stop };
}

/** Unmount whatever dockerd or buildah left mounted under dir, deepest first, so dir can be removed. */
export function umountUnder(dir) {
  spawnSync('sh', ['-c', `awk '$2 ~ "^${dir}" {print $2}' /proc/mounts | sort -r | xargs -r umount -l`], { stdio: 'ignore' });
}

/**
 * `codex32 system service` on socket with env, and an uncaught error that stops it, dockerd and the registry
 * before the bench exits (nothing of a failed run is left running).
 */
export function codexServiceBeside(socket, env, dockerd, registry) {
  const service = spawn('node', [BIN, 'system', 'service', '--socket', socket], { env, stdio: 'ignore' });
  process.on('uncaughtException', async (e) => {
    console.error(e);
    service.kill('SIGTERM');
    await dockerd.stop();
    registry.stop();
    process.exit(1);
  });
  return service;
}
