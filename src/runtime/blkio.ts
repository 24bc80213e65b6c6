// Block I/O limits: blkio throttling and weight on cgroup v1, io.max and io.weight on v2.
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import type { Blkio } from '../config/schema.js';
import { EngineError, fieldError } from '../errors.js';
import { ensureV2Parent, userManagerCgroup, userManagerRuns } from './cgroup-parent.js';

export interface IoHierarchy {
  version: 'v1' | 'v2';
  /** the blkio hierarchy's root (v1) or the unified root (v2) */
  root: string;
}

const CGROUP_ROOT = process.env.CODEX32_CGROUP_ROOT ?? '/sys/fs/cgroup';

/** Where this host's block I/O controller is, if it has a usable one. */
export function ioHierarchy(): IoHierarchy | undefined {
  for (const line of readFileSync('/proc/self/mounts', 'utf8').split('\n')) {
    const [, dir, type, opts] = line.split(' ');
    if (type === 'cgroup' && opts?.split(',').includes('blkio') && existsSync(`${dir}/blkio.throttle.read_bps_device`)) return { version: 'v1', root: dir };
  }
  const unified = existsSync(`${CGROUP_ROOT}/cgroup.controllers`) ? CGROUP_ROOT : existsSync(`${CGROUP_ROOT}/unified/cgroup.controllers`) ? `${CGROUP_ROOT}/unified` : undefined;
  if (unified && readFileSync(`${unified}/cgroup.controllers`, 'utf8').split(/\s+/).includes('io')) return { version: 'v2', root: unified };
  return undefined;
}

/** MAJOR:MINOR of a block device, or an INVALID_CONFIG naming the flag when path is not one. */
export function deviceNumber(flag: string, path: string): string {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new EngineError('INVALID_CONFIG', `Expected ${flag} to name a block device such as /dev/sda, got \`${path}\`, which does not exist`);
  }
  if (!st.isBlockDevice()) throw new EngineError('INVALID_CONFIG', `Expected ${flag} to name a block device such as /dev/sda, got \`${path}\`, which is not a block device`);
  const rdev = st.rdev;
  const major = ((rdev >> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff);
  const minor = (rdev & 0xff) | ((rdev >>> 12) & 0xfff00);
  return `${major}:${minor}`;
}

const FLAGS = { readBps: '`--device-read-bps`', writeBps: '`--device-write-bps`', readIops: '`--device-read-iops`', writeIops: '`--device-write-iops`' } as const;
const V1_FILES = { readBps: 'read_bps_device', writeBps: 'write_bps_device', readIops: 'read_iops_device', writeIops: 'write_iops_device' } as const;
const V2_KEYS = { readBps: 'rbps', writeBps: 'wbps', readIops: 'riops', writeIops: 'wiops' } as const;

/** The weight file this host honours (bfq's on v1 kernels without cfq), if any. */
function weightFile(h: IoHierarchy, dir: string): string | undefined {
  const names = h.version === 'v1' ? ['blkio.bfq.weight', 'blkio.weight'] : ['io.bfq.weight', 'io.weight'];
  return names.find((n) => existsSync(`${dir}/${n}`));
}

/**
 * Why `--blkio-weight` cannot be enforced here, or undefined when it can. The weight files exist only
 * below the root (v1's bfq; v2 never has io.weight in the root), so the probe looks where a container's
 * cgroup goes: in its parent (HIERARCHY/codex32, or on v2 the delegated subtree), whose files a child gets too once io is enabled for
 * children (v2: the parent's io is enabled in the root's cgroup.subtree_control; on a real cgroupfs it
 * has the same io files as a child). Makes that parent, as a start would.
 */
export function weightUnsupported(h: IoHierarchy | undefined): string | undefined {
  if (!h) return 'this host has no usable block I/O cgroup controller (blkio on v1, io on v2)';
  let parent = `${h.root}/codex32`;
  try {
    // v2: the delegated subtree containers' cgroups go in (under systemd, not the root's codex32)
    if (h.version === 'v2') parent = ensureV2Parent(h.root);
    else mkdirSync(parent, { recursive: true });
  } catch (e) {
    return `cannot make ${parent}: ${(e as Error).message}`;
  }
  if (h.version === 'v2') {
    const available = readOr(`${parent}/cgroup.controllers`).split(/\s+/);
    if (!available.includes('io')) return `the io controller is not enabled for ${parent} (add it to ${h.root}/cgroup.subtree_control)`;
  }
  if (weightFile(h, parent)) return undefined;
  if (h.version === 'v1' && existsSync(`${h.root}/blkio.bfq.io_service_bytes`)) return undefined; // bfq's files come with the child
  return 'neither bfq nor cfq (v1) or io cost (v2) gives this host\'s block I/O controller a weight';
}

const readOr = (path: string): string => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
};

/** Rootless: true when the user's systemd manager runs and was delegated the io controller. */
function rootlessIo(): boolean {
  const m = userManagerCgroup();
  return !!m && userManagerRuns() && readOr(`/sys/fs/cgroup${m}/cgroup.controllers`).split(/\s+/).includes('io');
}

/** Refuse block I/O limits this host cannot enforce, and devices that are not block devices. */
export function checkBlkio(b: Blkio | undefined): void {
  if (!b) return;
  // rootless first: an ordinary user writes only a cgroup its systemd manager was delegated, and only
  // the controllers systemd gave it, whatever the host's
  if (process.getuid?.() !== 0 && !rootlessIo())
    throw fieldError('HOST_UNSUPPORTED', 'Expected no `blkio` here: codex32 runs rootless, and this user has no delegated cgroup with the io controller (codex32 writes block I/O limits into the container\'s cgroup). Leave them out, run codex32 in a systemd user session whose manager is delegated io, or run it as root.', ['blkio']);
  const h = ioHierarchy();
  if (!h) throw new EngineError('HOST_UNSUPPORTED', 'This host has no usable block I/O cgroup controller (blkio on v1, io on v2), which device limits and --blkio-weight need. Run `codex32 info`.');
  for (const k of Object.keys(FLAGS) as Array<keyof typeof FLAGS>) for (const d of b[k]) deviceNumber(FLAGS[k], d.path);
  if (b.weight !== undefined) {
    const why = weightUnsupported(h);
    if (why) throw fieldError('HOST_UNSUPPORTED', `\`blkio.weight\` cannot be enforced on this host: ${why}. Leave it out, or use the bfq I/O scheduler.`, ['blkio.weight']);
  }
}

/**
 * Create the container's block I/O cgroup and write its limits; returns the directory its processes
 * join, or undefined when no limit is asked for.
 */
export function applyBlkio(id: string, b: Blkio | undefined): string | undefined {
  if (!b) return undefined;
  const h = ioHierarchy();
  if (!h) throw new EngineError('HOST_UNSUPPORTED', 'This host has no usable block I/O cgroup controller any more; the container asked for block I/O limits.');
  const write = (path: string, value: string) => {
    try {
      writeFileSync(path, value);
    } catch (cause) {
      throw new EngineError('RUNTIME_FAILED', `Cannot write block I/O limit ${value.trim()} to ${path}: ${(cause as Error).message}`, { cause });
    }
  };
  // v2: the delegated subtree, io enabled for its children; v1: the blkio hierarchy's codex32
  const parent = h.version === 'v2' ? ensureV2Parent(h.root) : `${h.root}/codex32`;
  mkdirSync(parent, { recursive: true });
  const dir = `${parent}/${id}`;
  mkdirSync(dir, { recursive: true });
  const byDev = new Map<string, string[]>();
  for (const k of Object.keys(FLAGS) as Array<keyof typeof FLAGS>)
    for (const d of b[k]) {
      const dev = deviceNumber(FLAGS[k], d.path);
      if (h.version === 'v1') write(`${dir}/blkio.throttle.${V1_FILES[k]}`, `${dev} ${d.rate}`);
      else byDev.set(dev, [...(byDev.get(dev) ?? []), `${V2_KEYS[k]}=${d.rate}`]);
    }
  for (const [dev, kv] of byDev) write(`${dir}/io.max`, `${dev} ${kv.join(' ')}`);
  if (b.weight !== undefined) {
    const f = weightFile(h, dir);
    if (!f) throw new EngineError('HOST_UNSUPPORTED', 'This host\'s block I/O controller has no weight file, so `--blkio-weight` cannot be enforced.');
    write(`${dir}/${f}`, f === 'io.weight' ? `default ${b.weight}` : String(b.weight));
  }
  return dir;
}
