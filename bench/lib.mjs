// Shared bench helpers: the CLI's path, a private storage directory, medians, and the service started on a free port.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..');
export const BIN = join(ROOT, 'bin', 'codex32');

/** A fresh storage directory (searchable by strict's unprivileged root) and the environment that selects it. */
export function benchStorage(prefix, extraEnv = {}) {
  const storage = mkdtempSync(join(tmpdir(), prefix));
  execFileSync('chmod', ['711', storage]);
  return { storage, env: { ...process.env, CONTAINER_STORAGE_DIR: storage, LOG_LEVEL: 'silent', ...extraEnv } };
}

/** The median of a list of numbers. */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** True when a command is on the PATH. */
export const which = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

/** Start `codex32 serve` on a free port; resolves to the child and its URL once it listens. */
export async function startService(env, token = 'bench') {
  const svc = spawn(BIN, ['serve', '--port', '0', '--token', token], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise((res, rej) => {
    let out = '';
    svc.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) res(m[1]);
    });
    svc.once('exit', () => rej(new Error('the service exited')));
  });
  return { svc, url };
}

/** The root the runc and podman anchors run in, like our standard level's: the host's /usr (bound read-only by the caller), the rest empty. */
export function anchorRootDir() {
  const root = mkdtempSync(join(tmpdir(), 'c32-anchor-root-'));
  for (const d of ['usr', 'proc', 'dev', 'sys', 'tmp', 'etc']) mkdirSync(join(root, d));
  for (const [l, t] of [['bin', 'usr/bin'], ['lib', 'usr/lib'], ['lib64', 'usr/lib64'], ['sbin', 'usr/sbin']]) symlinkSync(t, join(root, l));
  return root;
}
