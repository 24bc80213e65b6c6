// Host probe: which namespaces, cgroup controllers and isolation levels this host can really give.
import { accessSync, constants, existsSync, readFileSync, statfsSync } from 'node:fs';
import { rootlessHost, type RootlessHost } from './rootless.js';
import { userManagerCgroup, userManagerRuns } from './cgroup-parent.js';

export type CgroupVersion = 'v1' | 'v2' | 'hybrid' | 'none';
export type Controller = 'memory' | 'pids' | 'cpu';

export interface LevelSupport {
  supported: boolean;
  missing: string[];
}

export interface HostInfo {
  kernel: string;
  root: boolean;
  capSysAdmin: boolean;
  namespaces: Record<'user' | 'pid' | 'mnt' | 'net' | 'ipc' | 'uts' | 'cgroup', boolean>;
  unprivilegedUserns: boolean;
  cgroup: {
    version: CgroupVersion;
    /** where each usable controller's hierarchy is mounted (v1) or the unified root (v2) */
    controllers: Partial<Record<Controller, string>>;
    unified?: string;
    /** the v1 freezer hierarchy, where the supervisor freezes a container to kill it with no fork racing the kill */
    freezer?: string;
  };
  overlay: boolean;
  levels: Record<'minimal' | 'standard' | 'strict', LevelSupport>;
  /** how --cpus is enforced at minimal isolation: a cpu cgroup, or the supervisor's SIGSTOP/SIGCONT duty cycle */
  cpuLimitMinimal: 'cgroup' | 'monitor';
  /** run by an ordinary user: what it can have (its id ranges, helpers, pasta); absent as root */
  rootless?: RootlessHost;
}

const CGROUP_ROOT = process.env.CODEX32_CGROUP_ROOT ?? '/sys/fs/cgroup';
const CGROUP2_MAGIC = 0x63677270;

function readOr(path: string, dflt: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return dflt;
  }
}

function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function isCgroup2(path: string): boolean {
  try {
    return statfsSync(path).type === CGROUP2_MAGIC;
  } catch {
    return false;
  }
}

/**
 * Rootless: only a cgroup v2 subtree the user's own systemd manager was delegated (user@UID.service)
 * is the user's to write, with the controllers systemd gave it; on v1, or without that manager, none.
 */
function rootlessCgroups(root: string): HostInfo['cgroup'] {
  const manager = userManagerCgroup();
  if (!manager || !isCgroup2(root) || !userManagerRuns(root)) return { version: 'none', controllers: {} };
  const avail = readOr(`${root}${manager}/cgroup.controllers`, '').split(/\s+/);
  const controllers: HostInfo['cgroup']['controllers'] = {};
  for (const c of ['memory', 'pids', 'cpu'] as const) if (avail.includes(c)) controllers[c] = root;
  return { version: 'v2', controllers, unified: root };
}

/** Find usable controllers under root, the v1 per-controller mounts or the v2 unified tree. */
export function probeCgroups(root = CGROUP_ROOT): HostInfo['cgroup'] {
  if (process.getuid?.() !== 0 && root === CGROUP_ROOT) return rootlessCgroups(root);
  if (isCgroup2(root) || existsSync(`${root}/cgroup.controllers`)) {
    const avail = readOr(`${root}/cgroup.controllers`, '').split(/\s+/);
    const controllers: HostInfo['cgroup']['controllers'] = {};
    for (const c of ['memory', 'pids', 'cpu'] as const) if (avail.includes(c) && writable(root)) controllers[c] = root;
    return { version: 'v2', controllers, unified: root };
  }
  const controllers: HostInfo['cgroup']['controllers'] = {};
  for (const c of ['memory', 'pids', 'cpu'] as const) {
    const dir = `${root}/${c}`;
    if (existsSync(`${dir}/cgroup.procs`) && writable(dir)) controllers[c] = dir;
  }
  const unified = existsSync(`${root}/unified/cgroup.procs`) ? `${root}/unified` : undefined;
  const any = Object.keys(controllers).length > 0;
  const freezer = any && existsSync(`${root}/freezer/cgroup.procs`) && writable(`${root}/freezer`) ? `${root}/freezer` : undefined;
  return { version: any ? (unified ? 'hybrid' : 'v1') : unified ? 'v2' : 'none', controllers, unified, ...(freezer ? { freezer } : {}) };
}

function capEffHas(cap: number): boolean {
  const m = /CapEff:\s*([0-9a-f]+)/.exec(readOr('/proc/self/status', ''));
  return !!m && (BigInt('0x' + m[1]) & (1n << BigInt(cap))) !== 0n;
}

/**
 * True when overlayfs is a module of the running kernel: the kernel loads it at the first overlay
 * mount, so a fresh host (Debian's kernel) lists it in /proc/filesystems only after one.
 */
function overlayModule(release: string): boolean {
  return existsSync(`/lib/modules/${release}/kernel/fs/overlayfs`);
}

let cached: HostInfo | undefined;

/** Probe the host once per process. */
export function probeHost(): HostInfo {
  if (cached) return cached;
  const ns = (n: string) => existsSync(`/proc/self/ns/${n}`);
  const root = process.getuid?.() === 0;
  const capSysAdmin = capEffHas(21);
  const maxUserns = Number(readOr('/proc/sys/user/max_user_namespaces', '0'));
  const unprivClone = readOr('/proc/sys/kernel/unprivileged_userns_clone', '1') === '1';
  const namespaces = {
    user: ns('user') && maxUserns > 0,
    pid: ns('pid'),
    mnt: ns('mnt'),
    net: ns('net'),
    ipc: ns('ipc'),
    uts: ns('uts'),
    cgroup: ns('cgroup'),
  };
  const cgroup = probeCgroups();
  const overlay = readOr('/proc/filesystems', '').includes('\toverlay') || overlayModule(readOr('/proc/sys/kernel/osrelease', ''));

  const standardMissing: string[] = [];
  // an ordinary user gets its namespaces inside a user namespace of its own, over its subordinate ids
  const rootless = rootlessHost();
  if (rootless) standardMissing.push(...rootless.missing);
  else if (!capSysAdmin) standardMissing.push('root with CAP_SYS_ADMIN (to create namespaces and mounts)');
  for (const n of ['pid', 'mnt', 'ipc', 'uts'] as const) if (!namespaces[n]) standardMissing.push(`${n} namespace`);
  const strictMissing = [...standardMissing];
  if (!namespaces.user && !rootless) strictMissing.push('user namespaces (user.max_user_namespaces is 0)');
  if (!namespaces.net) strictMissing.push('net namespace');

  cached = {
    kernel: readOr('/proc/sys/kernel/osrelease', 'unknown'),
    root,
    capSysAdmin,
    namespaces,
    unprivilegedUserns: namespaces.user && unprivClone,
    cgroup,
    overlay,
    levels: {
      minimal: { supported: true, missing: [] },
      standard: { supported: standardMissing.length === 0, missing: standardMissing },
      strict: { supported: strictMissing.length === 0, missing: strictMissing },
    },
    cpuLimitMinimal: cgroup.controllers.cpu ? 'cgroup' : 'monitor',
    ...(rootless ? { rootless } : {}),
  };
  return cached;
}
