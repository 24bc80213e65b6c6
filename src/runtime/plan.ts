// Launch plan: a container's config, image and the host turned into the ordered steps the shim carries out.
import { existsSync, lstatSync, readlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { EngineError } from '../errors.js';
import type { ContainerImage } from '../images/store.js';
import { inferCommand } from '../images/store.js';
import type { ResolvedConfig } from '../config/schema.js';
import type { ContainerRow } from '../state/types.js';
import type { CgroupSet } from './cgroups.js';
import type { ContainerPaths } from './layout.js';
import { networkMode } from './network.js';
import { NET_ETC, networkEntries, ownsNetFiles } from './plan-net.js';
import { securityEntries, securityMask } from './security.js';
import { compiledSeccomp, seccompFilters } from './seccomp.js';
import { cliPath, shimPath } from './supervisor.js';

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** docker's default capability set: never CAP_SYS_ADMIN, CAP_SYS_PTRACE or CAP_NET_ADMIN. */
export const STANDARD_CAPS = [0 /* CHOWN */, 1 /* DAC_OVERRIDE */, 3 /* FOWNER */, 4 /* FSETID */, 5 /* KILL */, 6 /* SETGID */, 7 /* SETUID */, 8 /* SETPCAP */, 10 /* NET_BIND_SERVICE */, 13 /* NET_RAW */, 18 /* SYS_CHROOT */, 27 /* MKNOD */, 29 /* AUDIT_WRITE */, 31 /* SETFCAP */];
/** Raw access to a network (packet sockets, forged packets, interface and route changes). */
export const HOST_NET_DENIED = [12 /* NET_ADMIN */, 13 /* NET_RAW */];

/** Whether the container runs in the host's network namespace rather than one of its own. */
export function sharesHostNetns(c: Pick<ResolvedConfig, 'isolation' | 'network'>): boolean {
  return networkMode(c) === 'host';
}

/**
 * The capabilities a container keeps, as the shim's bit mask (every set, bounding included): none at
 * strict; docker's set at standard, less NET_RAW and NET_ADMIN whenever the container shares the
 * host's network namespace, where they would read and forge the host's own traffic.
 */
export function capabilityMask(c: Pick<ResolvedConfig, 'isolation' | 'network'>): bigint {
  if (c.isolation === 'strict') return 0n;
  const denied = sharesHostNetns(c) ? HOST_NET_DENIED : [];
  return STANDARD_CAPS.filter((b) => !denied.includes(b)).reduce((m, b) => m | (1n << BigInt(b)), 0n);
}

/** Host userland shown read-only in standard and strict containers on the `host` image. */
const HOST_DIRS = ['usr', 'bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32'];
const HOST_ETC = ['resolv.conf', 'hosts', 'passwd', 'group', 'nsswitch.conf', 'localtime', 'ld.so.cache', 'ld.so.conf', 'ld.so.conf.d', 'ssl', 'ca-certificates', 'ca-certificates.conf', 'alternatives', 'host.conf', 'gai.conf', 'protocols', 'services', 'mime.types', 'python3', 'python3.11'];
/** Paths hidden from the container, as runc masks them. */
const MASKED = ['/proc/kcore', '/proc/keys', '/proc/timer_list', '/proc/sched_debug', '/proc/latency_stats', '/proc/acpi', '/proc/scsi', '/proc/asound', '/sys/firmware', '/proc/interrupts'];
const READONLY = ['/proc/sys', '/proc/sysrq-trigger', '/proc/irq', '/proc/bus', '/proc/fs'];
const DEVICES = ['null', 'zero', 'full', 'random', 'urandom', 'tty'];

/** Host uid and gid that a strict container's root maps to (an unprivileged range). */
export const STRICT_ID_BASE = 100000;
export const STRICT_ID_COUNT = 65536;

export interface LaunchPlan {
  argv: string[];
  entries: string[];
  appRoot: string;
  cwd: string;
}

/** The directory the app is seen at from inside the container. */
export function appRootFor(isolation: string, paths: ContainerPaths): string {
  return isolation === 'minimal' ? paths.app : '/app';
}

/** The command a container runs: entrypoint plus command (an OCI image's, merged at create), else the one inferred from its image. */
export function resolveArgv(row: ContainerRow, image: ContainerImage, paths: ContainerPaths): string[] {
  const given = [...(row.config.entrypoint ?? []), ...row.config.command];
  if (given.length) return given;
  const inferred = inferCommand(image, appRootFor(row.config.isolation, paths));
  if (!inferred)
    throw new EngineError('INVALID_CONFIG', `The image ${image.ref} has no file to run. Give a command after the image, e.g. \`codex32 run host sh -c 'echo hi'\`.`);
  return inferred;
}

/**
 * The container's rlimits. --memory becomes RLIMIT_AS only at minimal on a host without a memory
 * cgroup: an address-space cap is a poor stand-in, as a runtime that reserves address space up front
 * (V8, Go, the JVM) cannot start under it, and where the cgroup exists it holds the real total alone.
 */
function rlimitEntries(row: ContainerRow, cgroups: CgroupSet | undefined): string[] {
  const l = row.config.limits;
  const out: string[] = [];
  const minimal = row.config.isolation === 'minimal';
  if (minimal && l.memory && !cgroups?.controllers.includes('memory')) out.push(`rlimit=as ${l.memory} ${l.memory}`);
  if (l.nofile) out.push(`rlimit=nofile ${l.nofile} ${l.nofile}`);
  if (l.cpuTime) out.push(`rlimit=cpu ${l.cpuTime} ${l.cpuTime}`);
  if (l.fsize) out.push(`rlimit=fsize ${l.fsize} ${l.fsize}`);
  return out;
}

function rootfsEntries(row: ContainerRow, image: ContainerImage, paths: ContainerPaths): string[] {
  const e: string[] = [];
  if (image.kind === 'rootfs' && image.rootfs) {
    e.push(`root=overlay:lowerdir=${image.rootfs},upperdir=${paths.upper},workdir=${paths.work}`);
  } else if (image.kind === 'oci' && image.layers?.length) {
    // overlay lists lower dirs top first; layers are kept bottom first
    e.push(`root=overlay:lowerdir=${image.layers.slice().reverse().join(':')},upperdir=${paths.upper},workdir=${paths.work}`);
  } else {
    e.push('root=tmpfs');
    for (const d of HOST_DIRS) {
      const p = `/${d}`;
      if (!existsSync(p)) continue;
      const st = lstatSync(p);
      if (st.isSymbolicLink()) e.push(`symlink=${readlinkSync(p)}\t${p}`);
      else if (st.isDirectory()) e.push(`bind=${p}\t${p}\tro`);
    }
    const own = ownsNetFiles(row) ? NET_ETC : [];
    for (const f of HOST_ETC) if (!own.includes(f) && existsSync(`/etc/${f}`)) e.push(`bind=/etc/${f}\t/etc/${f}\tro`);
    e.push(`bind=${paths.etc}/hostname\t/etc/hostname\tro`);
  }
  // an OCI image's /app is its own (or a volume's): only path images, `host` and imported roots get the app there
  if (image.kind !== 'oci') e.push(`bind=${paths.app}\t/app\trw`);
  e.push(`tmpfs=/tmp\tmode=1777,size=${64 * 1024 * 1024}`);
  e.push('proc=/proc');
  e.push(`tmpfs=/dev\tmode=0755,size=65536`);
  for (const d of DEVICES) e.push(`bind=/dev/${d}\t/dev/${d}\trw`);
  e.push('devpts=/dev/pts', 'symlink=pts/ptmx\t/dev/ptmx', `tmpfs=/dev/shm\tmode=1777,size=${row.config.shmSize ?? 64 * 1024 * 1024}`, 'mqueue=/dev/mqueue');
  e.push('symlink=/proc/self/fd\t/dev/fd', 'symlink=/proc/self/fd/0\t/dev/stdin', 'symlink=/proc/self/fd/1\t/dev/stdout', 'symlink=/proc/self/fd/2\t/dev/stderr');
  // sysfs belongs to the network namespace's owner: a strict container's root does not own the
  // private network's namespace (that is the point), so it gets an empty /sys there
  const ownSys = row.config.isolation === 'strict' && networkMode(row.config) === 'private';
  e.push(ownSys ? 'tmpfs=/sys\tmode=0555,size=4096' : 'sysfs=/sys');
  for (const m of MASKED) e.push(`mask=${m}`);
  for (const r of READONLY) e.push(`readonly=${r}`);
  for (const v of row.config.volumes) {
    // a tmpfs volume (the local driver's type=tmpfs) is a tmpfs of the container's own, of the volume's size
    if (v.tmpfs) e.push(`tmpfs=${v.target}\tmode=${(v.tmpfs.mode ?? 0o1777).toString(8)}${v.tmpfs.size ? `,size=${v.tmpfs.size}` : ''}`);
    else e.push(`bind=${v.source}\t${v.target}\t${v.readOnly ? 'ro' : 'rw'}`);
  }
  return e;
}

/** Build the shim's spec for one start of the container. */
export function buildPlan(
  row: ContainerRow,
  image: ContainerImage,
  paths: ContainerPaths,
  cgroups: CgroupSet | undefined,
  netnsPath?: string,
  options: { attachWait?: boolean } = {},
): LaunchPlan {
  const c = row.config;
  const level = c.isolation;
  const appRoot = appRootFor(level, paths);
  const argv = resolveArgv(row, image, paths);
  // docker's default for an image without WorkingDir is /; path images and `host` start in their app
  const cwd = c.workdir ?? (image.kind === 'oci' ? '/' : appRoot);
  const env: Record<string, string> = { PATH: DEFAULT_PATH, HOME: appRoot, HOSTNAME: c.hostname ?? c.name, ...(c.tty ? { TERM: 'xterm' } : {}), ...c.env };
  const entries: string[] = [
    `isolation_level=${{ minimal: 0, standard: 1, strict: 2 }[level]}`,
    `log=${paths.log}`,
    `log_max_size=${c.logMaxSize}`,
    `log_max_files=${c.logMaxFiles}`,
    `cwd=${cwd}`,
    `restart=${c.restart.name}`,
    `restart_max=${c.restart.maxRetries}`,
    `backoff_initial_ms=${c.restart.backoffInitialMs}`,
    `backoff_max_ms=${c.restart.backoffMaxMs}`,
    `backoff_reset_ms=${c.restart.backoffResetMs}`,
    ...(c.restart.minUptimeMs ? [`restart_min_uptime_ms=${c.restart.minUptimeMs}`] : []),
    `stop_signal=${c.stopSignal}`,
    `stop_timeout_ms=${Math.round(c.stopTimeout * 1000)}`, // whole milliseconds: the shim reads integers
    `timeout_ms=${Math.round((c.timeout ?? 0) * 1000)}`,
    `run_base=${row.state.runBase}`,
    ...argv.map((a) => `arg=${a}`),
    ...Object.entries(env).map(([k, v]) => `env=${k}=${v}`),
    ...rlimitEntries(row, cgroups),
    ...(cgroups?.dirs ?? []).map((d) => `cgroup=${d}`),
  ];
  if (cgroups?.oomEvents) entries.push(`oom_events=${cgroups.oomEvents}`);
  // a terminal or open stdin: the supervisor serves the attach socket; attachWait holds the command
  // until the caller is attached, so a foreground `run -it` misses none of its output
  if (c.tty) entries.push('tty=1');
  if (c.interactive) entries.push('stdin_open=1');
  if (options.attachWait && (c.tty || c.interactive)) entries.push('attach_wait=1');
  // no cpu cgroup to hold --cpus (minimal on such hosts): the supervisor throttles the process tree
  if (c.limits.cpus && level === 'minimal' && !cgroups?.controllers.includes('cpu'))
    entries.push(`cpu_throttle_permille=${Math.round(c.limits.cpus * 1000)}`);
  if (c.health) {
    const h = c.health;
    entries.push(...h.cmd.map((a) => `health_arg=${a}`));
    entries.push(`health_interval_ms=${h.intervalMs}`, `health_timeout_ms=${h.timeoutMs}`, `health_retries=${h.retries}`, `health_start_ms=${h.startPeriodMs}`, `health_restart=${h.restartOnUnhealthy ? 1 : 0}`);
  }
  if (c.user) entries.push(`uid=${c.user.uid}`, `gid=${c.user.gid}`);
  if (level !== 'minimal') {
    const caps = securityMask(c);
    entries.push(`newroot=${paths.newroot}`, `hostname=${c.hostname ?? c.name}`, `caps=${caps}`);
    // the filter follows the capabilities the container holds, as docker's profile does
    entries.push(...compiledSeccomp(paths.seccompCache, seccompFilters(level, c.seccomp, caps), shimPath()));
    entries.push(...rootfsEntries(row, image, paths));
    entries.push(...networkEntries(row, paths, netnsPath));
  }
  entries.push(...securityEntries(c));
  // run -d --rm without a daemon: once the container has exited for good, its supervisor runs `rm` of it
  // (podman's conmon runs an exit command the same way); `rm` without -f leaves one being removed alone
  if (c.autoRemove) {
    const storage = dirname(dirname(paths.dir));
    for (const a of [process.execPath, cliPath(), '--storage', storage, 'rm', '-v', row.id]) entries.push(`exit_arg=${a}`);
  }
  if (level === 'strict') {
    entries.push('readonly_root=1');
    entries.push(`uid_map=0 ${STRICT_ID_BASE} ${STRICT_ID_COUNT}`, `gid_map=0 ${STRICT_ID_BASE} ${STRICT_ID_COUNT}`);
  }
  for (const e of entries)
    if (e.includes('\0') || e.includes('\n') && !e.startsWith('arg=') && !e.startsWith('env='))
      throw new EngineError('INVALID_CONFIG', `Expected the configuration to contain no NUL bytes or stray newlines, got \`${e.slice(0, 40)}\``);
  return { argv, entries, appRoot, cwd };
}

/** Serialise the plan as the shim reads it: NUL-terminated key=value entries. */
export function encodeSpec(plan: LaunchPlan): Buffer {
  return Buffer.from(plan.entries.map((e) => e + '\0').join(''));
}
