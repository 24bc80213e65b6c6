// A disk quota per container (--storage-opt size): its writable layer and /app on an ext4 file system of
// their own, in a sparse image file in the container's directory, loop-mounted. Writing past the size gets
// ENOSPC inside; the host's free space is only ever spent up to the size (the file grows as it is written,
// and `discard` gives deleted blocks back).
import { closeSync, existsSync, ftruncateSync, openSync, readFileSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { EngineError } from '../errors.js';
import { runFile } from './command.js';

/** How this host bounds a container's disk, or none and why. */
export interface QuotaSupport {
  mechanism: 'loop-ext4' | 'none';
  missing?: string;
}

/** The image file, relative to the container's directory. */
export const QUOTA_IMAGE = 'disk.img';
/**
 * What is bound from the quota file system into the container's directory (there, from the file system).
 * overlayfs wants its upper and work directories on one mount, so `layer` holds both and the overlay is
 * given those paths (overlayDirs); `upper` and `work` are bound too, so every other user of the usual
 * paths (commit, diff, sizes, the start's chown) reads the same files.
 */
const BINDS: Array<[string, string]> = [['app', 'app'], ['layer', 'layer'], ['upper', 'layer/upper'], ['work', 'layer/work']];

/** The overlay's upper and work directories of a container in dir: both on the quota's one mount when it has a quota. */
export function overlayDirs(dir: string, quota: boolean): { upper: string; work: string } {
  return quota ? { upper: join(dir, 'layer', 'upper'), work: join(dir, 'layer', 'work') } : { upper: join(dir, 'upper'), work: join(dir, 'work') };
}

let cached: QuotaSupport | undefined;

/** Whether a program is on PATH (or in the sbin directories a non-login root shell may lack). */
function onPath(name: string): boolean {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin'];
  return dirs.some((d) => d && existsSync(join(d, name)));
}

/** What the quota needs of a host, as probed. */
export interface QuotaHost {
  root: boolean;
  loopControl: boolean;
  /** the kernel's /proc/filesystems */
  filesystems: string;
  hasTool: (name: string) => boolean;
}

/** The quota mechanism a host with these features offers: root, loop devices, ext4 and mkfs.ext4 are needed. */
export function quotaSupportOf(h: QuotaHost): QuotaSupport {
  const missing: string[] = [];
  if (!h.root) missing.push('root (mounting a file system)');
  if (!h.loopControl) missing.push('loop devices (/dev/loop-control; `modprobe loop`)');
  if (!/\text4$/m.test(h.filesystems)) missing.push('the ext4 file system in the kernel');
  for (const tool of ['mkfs.ext4', 'mount', 'umount']) if (!h.hasTool(tool)) missing.push(`${tool} (Debian: apt-get install e2fsprogs mount)`);
  return missing.length ? { mechanism: 'none', missing: missing.join('; ') } : { mechanism: 'loop-ext4' };
}

/** Which quota mechanism this host offers (probed once). */
export function quotaSupport(): QuotaSupport {
  if (cached) return cached;
  let filesystems = '';
  try {
    filesystems = readFileSync('/proc/filesystems', 'utf8');
  } catch {
    /* no /proc: ext4 is reported missing */
  }
  cached = quotaSupportOf({ root: process.getuid?.() === 0, loopControl: existsSync('/dev/loop-control'), filesystems, hasTool: onPath });
  return cached;
}

/** Refuse a quota where it cannot hold: at minimal (the host's own file system), or on a host without the mechanism. */
export function checkQuota(isolation: string, size: number | undefined, support: QuotaSupport = quotaSupport()): void {
  if (size === undefined) return;
  const flag = 'A disk quota (`--storage-opt size`, HostConfig.StorageOpt, storageSize)';
  if (isolation === 'minimal')
    throw new EngineError('INVALID_CONFIG', `${flag} bounds a container's writable layer and /app, which minimal isolation does not have: it runs on the host's file system. Use the standard or strict isolation level.`);
  if (support.mechanism === 'none')
    throw new EngineError('HOST_UNSUPPORTED', `${flag} needs a quota mechanism, and this host has none: missing ${support.missing}. \`codex32 info\` shows what the host offers.`);
}

/** Whether dir's quota file system is mounted (its layer directory is on another device than dir). */
export function quotaMounted(dir: string): boolean {
  try {
    return statSync(join(dir, 'layer')).dev !== statSync(dir).dev;
  } catch {
    return false;
  }
}

/** Make the container's quota file system of size bytes (sparse: it takes host space only as it is written) and mount it. */
export async function makeQuota(dir: string, size: number): Promise<void> {
  const image = join(dir, QUOTA_IMAGE);
  const fd = openSync(image, 'wx', 0o600);
  try {
    ftruncateSync(fd, size);
  } finally {
    closeSync(fd);
  }
  // no reserved blocks (no root-only share); an inode per 8 KiB, as a tree of small files (node_modules) runs out of
  // inodes first otherwise. Inode tables and journal are left unwritten (lazy_*, and noinit_itable at mount): the file
  // is new and sparse, so they read as zeros already, and writing them would spend ~3% of the size of host disk at once
  await run('mkfs.ext4', ['-q', '-F', '-m', '0', '-i', '8192', '-E', 'lazy_itable_init=1,lazy_journal_init=1,nodiscard', image], 'make the quota file system');
  await mountQuota(dir);
}

/**
 * Mount dir's quota file system, unless it is: its app, layer, upper and work directories are bound from it (the
 * file system's own root is mounted only for that moment), so every path the engine and the supervisor
 * use stays the same. Needed again after the host restarts.
 */
export async function mountQuota(dir: string): Promise<void> {
  if (quotaMounted(dir) || !existsSync(join(dir, QUOTA_IMAGE))) return;
  const script = [
    'set -e',
    `mkdir -p "$1/disk" ${BINDS.map(([at]) => `"$1/${at}"`).join(' ')}`,
    'mount -o loop,nodev,nosuid,discard,noinit_itable "$1/disk.img" "$1/disk"',
    'trap \'umount "$1/disk"; rmdir "$1/disk"\' EXIT',
    ...BINDS.map(([at, from]) => `mkdir -p "$1/disk/${from}" && mount --bind "$1/disk/${from}" "$1/${at}"`),
  ].join('\n');
  await run('sh', ['-c', script, 'quota', dir], 'mount the quota file system');
}

/** Unmount dir's quota file system (its loop device is freed with the last mount); nothing when it is not mounted. */
export async function unmountQuota(dir: string): Promise<void> {
  if (!existsSync(join(dir, QUOTA_IMAGE))) return;
  for (const [d] of BINDS) {
    const p = join(dir, d);
    if (!existsSync(p) || statSync(p).dev === statSync(dir).dev) continue;
    await run('umount', [p], 'unmount the quota file system').catch(() => run('umount', ['-l', p], 'unmount the quota file system'));
  }
}

async function run(file: string, args: string[], what: string): Promise<void> {
  try {
    await runFile(file, args, { env: { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin` } });
  } catch (cause) {
    const detail = ((cause as { stderr?: string }).stderr ?? '').trim() || (cause as Error).message;
    throw new EngineError('RUNTIME_FAILED', `Cannot ${what}: ${detail}`, { cause });
  }
}
