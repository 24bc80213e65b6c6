import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { OciImage } from './catalog.js';
import { applyImageConfig, layerEtc, resolveImageUser, resolveUser } from './config.js';

const dir = mkdtempSync(join(tmpdir(), 'c32-imgcfg-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const lower = join(dir, 'l0');
const upper = join(dir, 'l1');
mkdirSync(join(lower, 'etc'), { recursive: true });
mkdirSync(join(upper, 'etc'), { recursive: true });
writeFileSync(join(lower, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\nbot:x:500:500::/home/bot:/bin/sh\n');
writeFileSync(join(upper, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\nbot:x:700:701::/home/bot:/bin/sh\n');
writeFileSync(join(upper, 'etc/group'), 'staff:x:50:\n');

const image = (config: Record<string, unknown>): OciImage =>
  ({ id: `sha256:${'a'.repeat(64)}`, createdAt: 0, tags: [], doc: { config: { config, rootfs: { type: 'layers', diff_ids: [] } } } }) as unknown as OciImage;

describe('image config under the user flags (docker rules)', () => {
  const img = image({ Entrypoint: ['/entry'], Cmd: ['serve'], Env: ['A=1', 'PATH=/opt/bin'], WorkingDir: '/w', User: 'bot:staff', StopSignal: 'SIGQUIT', Labels: { x: 'img' }, Healthcheck: { Test: ['CMD-SHELL', 'true'], Interval: 2e9, Retries: 2 } });
  it('uses the image when the user gives nothing', () => {
    const c = applyImageConfig({ image: 'i', command: [], env: {}, labels: {} }, img, [lower, upper]);
    expect([c.entrypoint, c.command]).toEqual([['/entry'], ['serve']]);
    expect(c.env).toEqual({ A: '1', PATH: '/opt/bin', HOME: '/' });
    expect([c.workdir, c.user, c.stopSignal]).toEqual(['/w', { uid: 700, gid: 50 }, 3]);
    expect(c.health).toEqual({ cmd: ['sh', '-c', 'true'], intervalMs: 2000, retries: 2 });
    expect(c.imageId).toBe(img.id);
  });
  it('lets a command replace Cmd, --entrypoint reset both, and flags win', () => {
    const c = applyImageConfig({ image: 'i', command: ['x'], env: { A: '2' }, labels: { x: 'mine' }, workdir: '/mine', user: { uid: 0, gid: 0 }, stopSignal: 15 }, img, [lower]);
    expect([c.entrypoint, c.command, c.env?.A, c.labels?.x, c.workdir, c.user, c.stopSignal, c.env?.HOME]).toEqual([['/entry'], ['x'], '2', 'mine', '/mine', { uid: 0, gid: 0 }, 15, '/root']);
    const e = applyImageConfig({ image: 'i', command: [], entrypoint: ['/bin/sh'] }, img, [lower, upper]);
    expect([e.entrypoint, e.command]).toEqual([['/bin/sh'], []]);
    expect(() => applyImageConfig({ image: 'i', command: [], entrypoint: [] }, img, [lower, upper])).toThrow(/no Entrypoint or Cmd/);
  });
  it('resolves users by number or by the image own files, and refuses unknown names with docker\'s words', () => {
    expect(resolveImageUser('42', [lower])).toEqual({ uid: 42, gid: 0 }); // no entry: group 0, as docker
    expect(resolveImageUser('500', [lower])).toEqual({ uid: 500, gid: 500 }); // an entry: its primary group
    expect(resolveImageUser('bot', [lower])).toEqual({ uid: 500, gid: 500 });
    expect(resolveUser('bot:staff', layerEtc([lower, upper]))).toEqual({ uid: 700, gid: 50 });
    expect(resolveUser('42:7', layerEtc([lower]))).toEqual({ uid: 42, gid: 7 });
    expect(() => resolveImageUser('nobody', [lower])).toThrow('unable to find user nobody: no matching entries in passwd file');
    expect(() => resolveUser('bot:wheel', layerEtc([lower, upper]))).toThrow('unable to find group wheel: no matching entries in group file');
    for (const bad of ['4294967295', '1:4294967295', 'a:b:c', ':5'])
      expect(() => resolveUser(bad, layerEtc([lower]))).toThrow(/--user|unable to find/);
  });
});
