// Launch plan: a container's config, image and the host turned into the ordered steps the shim carries out.
import { existsSync, lstatSync, readlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { EngineError } from '../errors.js';
import type { ContainerImage } from '../images/store.js';
import { inferCommand } from '../images/store.js';
import type { ResolvedConfig } from '../config/schema.js';
import type { ContainerRow } from '../state/types.js';
import type { CgroupSet } from './cgroups.js';
import { checkExecSize } from './execlimits.js';
import type { ContainerPaths } from './layout.js';
import { encodeSpecEntries, spec, specEach } from './contract.js';
import { networkMode } from './network.js';
import { overlayDirs } from './quota.js';
import { NET_ETC, networkEntries, ownsNetFiles } from './plan-net.js';
import { healthEntries } from './process-plan.js';
import { keepEntries } from './keep-plan.js';
import { securityEntries, securityMask, writableEntries } from './security.js';
import { compiledSeccomp, seccompFilters } from './seccomp.js';
import { cliPath, shimPath } from './supervisor.js';
import { ID_RANGE_SIZE, ID_RANGE_START } from '../state/idranges.js';
import { PASTA_PID, pastaEntries, rootlessEntries, rootlessHost } from './rootless.js';

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

/** The first host uid and gid of strict's pool (the range containers made before ranges all shared). */
export const STRICT_ID_BASE = ID_RANGE_START;
export const STRICT_ID_COUNT = ID_RANGE_SIZE;

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
  if (minimal && l.memory && !cgroups?.controllers.includes('memory')) out.push(spec('rlimit', ['as', l.memory, l.memory]));
  if (l.nofile) out.push(spec('rlimit', ['nofile', l.nofile, l.nofile]));
  if (l.cpuTime) out.push(spec('rlimit', ['cpu', l.cpuTime, l.cpuTime]));
  if (l.fsize) out.push(spec('rlimit', ['fsize', l.fsize, l.fsize]));
  return out;
}

function rootfsEntries(row: ContainerRow, image: ContainerImage, paths: ContainerPaths): string[] {
  const e: string[] = [];
  const { upper, work } = overlayDirs(paths.dir, !!row.config.storageSize);
  // rootless: overlay is mounted in the container's user namespace, where its whiteout and opaque
  // markers are user.overlay.* xattrs (trusted.* need root of the host), as the layers were unpacked
  const own = rootlessHost() ? ',userxattr' : '';
  if (image.kind === 'rootfs' && image.rootfs) {
    e.push(spec('root', `overlay:lowerdir=${image.rootfs},upperdir=${upper},workdir=${work}${own}`));
  } else if (image.kind === 'oci' && image.layers?.length) {
    // overlay lists lower dirs top first; layers are kept bottom first
    e.push(spec('root', `overlay:lowerdir=${image.layers.slice().reverse().join(':')},upperdir=${upper},workdir=${work}${own}`));
  } else {
    e.push(spec('root', 'tmpfs'));
    for (const d of HOST_DIRS) {
      const p = `/${d}`;
      if (!existsSync(p)) continue;
      const st = lstatSync(p);
      if (st.isSymbolicLink()) e.push(spec('symlink', [readlinkSync(p), p]));
      else if (st.isDirectory()) e.push(spec('bind', [p, p, 'ro']));
    }
    const own = ownsNetFiles(row) ? NET_ETC : [];
    for (const f of HOST_ETC) if (!own.includes(f) && existsSync(`/etc/${f}`)) e.push(spec('bind', [`/etc/${f}`, `/etc/${f}`, 'ro']));
    e.push(spec('bind', [`${paths.etc}/hostname`, '/etc/hostname', 'ro']));
  }
  // before anything mounts over them: strict's homes and app stay writable under its read-only root
  e.push(...writableEntries(row.config, containerEnv(row.config, appRootFor(row.config.isolation, paths)).HOME));
  // an OCI image's /app is its own (or a volume's): only path images, `host` and imported roots get the app there
  if (image.kind !== 'oci') e.push(spec('bind', [paths.app, '/app', 'rw']));
  e.push(spec('tmpfs', ['/tmp', `mode=1777,size=${64 * 1024 * 1024}`]));
  e.push(spec('proc', '/proc'));
  e.push(spec('tmpfs', ['/dev', 'mode=0755,size=65536']));
  for (const d of DEVICES) e.push(spec('bind', [`/dev/${d}`, `/dev/${d}`, 'rw']));
  e.push(spec('devpts', '/dev/pts'), spec('symlink', ['pts/ptmx', '/dev/ptmx']), spec('tmpfs', ['/dev/shm', `mode=1777,size=${row.config.shmSize ?? 64 * 1024 * 1024}`]), spec('mqueue', '/dev/mqueue'));
  e.push(spec('symlink', ['/proc/self/fd', '/dev/fd']), spec('symlink', ['/proc/self/fd/0', '/dev/stdin']), spec('symlink', ['/proc/self/fd/1', '/dev/stdout']), spec('symlink', ['/proc/self/fd/2', '/dev/stderr']));
  // sysfs belongs to the network namespace's owner: a strict container's root does not own the
  // private network's namespace (that is the point), so it gets an empty /sys there
  const ownSys = row.config.isolation === 'strict' && networkMode(row.config) === 'private';
  // rootless on the host's network: that namespace is not the container's user namespace's to mount
  // sysfs for, so the host's /sys is shown read-only instead (as podman does)
  const hostSys = !!rootlessHost() && networkMode(row.config) === 'host';
  e.push(ownSys ? spec('tmpfs', ['/sys', 'mode=0555,size=4096']) : hostSys ? spec('bind', ['/sys', '/sys', 'ro']) : spec('sysfs', '/sys'));
  e.push(...specEach('mask', MASKED), ...specEach('readonly', READONLY));
  for (const v of row.config.volumes) {
    // a tmpfs volume (the local driver's type=tmpfs) is a tmpfs of the container's own, of the volume's size
    if (v.tmpfs) e.push(spec('tmpfs', [v.target, `mode=${(v.tmpfs.mode ?? 0o1777).toString(8)}${v.tmpfs.size ? `,size=${v.tmpfs.size}` : ''}`]));
    else e.push(spec('bind', [v.source, v.target, v.readOnly ? 'ro' : 'rw']));
  }
  return e;
}

/** The environment the container's command gets: the defaults, then the config's own values. */
export function containerEnv(c: ContainerRow['config'], appRoot: string): Record<string, string> {
  return { PATH: DEFAULT_PATH, HOME: appRoot, HOSTNAME: c.hostname ?? c.name, ...(c.tty ? { TERM: 'xterm' } : {}), ...c.env };
}

/** Build the shim's spec for one start of the container. */
export async function buildPlan(
  row: ContainerRow,
  image: ContainerImage,
  paths: ContainerPaths,
  cgroups: CgroupSet | undefined,
  netnsPath?: string,
  options: { attachWait?: boolean; idBase?: number; idmap?: boolean } = {},
): Promise<LaunchPlan> {
  const c = row.config;
  const level = c.isolation;
  const appRoot = appRootFor(level, paths);
  const argv = resolveArgv(row, image, paths);
  // docker's default for an image without WorkingDir is /; path images and `host` start in their app
  const cwd = c.workdir ?? (image.kind === 'oci' ? '/' : appRoot);
  const env = containerEnv(c, appRoot);
  checkExecSize(argv, env);
  const entries: string[] = [
    spec('isolation_level', { minimal: 0, standard: 1, strict: 2 }[level]),
    spec('log', paths.log),
    spec('log_max_size', c.logMaxSize),
    spec('log_max_files', c.logMaxFiles),
    spec('cwd', cwd),
    spec('restart', c.restart.name),
    spec('restart_max', c.restart.maxRetries),
    spec('backoff_initial_ms', c.restart.backoffInitialMs),
    spec('backoff_max_ms', c.restart.backoffMaxMs),
    spec('backoff_reset_ms', c.restart.backoffResetMs),
    ...(c.restart.minUptimeMs ? [spec('restart_min_uptime_ms', c.restart.minUptimeMs)] : []),
    spec('stop_signal', c.stopSignal),
    spec('stop_timeout_ms', Math.round(c.stopTimeout * 1000)), // whole milliseconds: the shim reads integers
    spec('timeout_ms', Math.round((c.timeout ?? 0) * 1000)),
    ...(c.oomScoreAdj !== undefined ? [spec('oom_score_adj', c.oomScoreAdj)] : []),
    spec('run_base', row.state.runBase),
    ...specEach('arg', argv),
    ...specEach('env', Object.entries(env).map(([k, v]) => `${k}=${v}`)),
    ...rlimitEntries(row, cgroups),
    ...specEach('cgroup', cgroups?.dirs ?? []),
  ];
  if (cgroups?.oomEvents) entries.push(spec('oom_events', cgroups.oomEvents));
  // a terminal or open stdin: the supervisor serves the attach socket; attachWait holds the command
  // until the caller is attached, so a foreground `run -it` misses none of its output
  if (c.tty) entries.push(spec('tty', true));
  if (c.interactive) entries.push(spec('stdin_open', true));
  if (options.attachWait && (c.tty || c.interactive)) entries.push(spec('attach_wait', true));
  // no cpu cgroup to hold --cpus (minimal on such hosts): the supervisor throttles the process tree
  if (c.limits.cpus && level === 'minimal' && !cgroups?.controllers.includes('cpu'))
    entries.push(spec('cpu_throttle_permille', Math.round(c.limits.cpus * 1000)));
  if (c.health) entries.push(...healthEntries(c.health));
  entries.push(...keepEntries(c.keep, paths.dir));
  if (c.user) entries.push(spec('uid', c.user.uid), spec('gid', c.user.gid));
  if (level !== 'minimal') {
    const caps = securityMask(c);
    entries.push(spec('newroot', paths.newroot), spec('hostname', c.hostname ?? c.name), spec('caps', caps));
    // the filter follows the capabilities the container holds, as docker's profile does
    entries.push(...await compiledSeccomp(paths.seccompCache, seccompFilters(level, c.seccomp, caps), shimPath()));
    entries.push(...rootfsEntries(row, image, paths));
    const rootless = rootlessHost();
    if (rootless) entries.push(...rootlessEntries(rootless));
    // rootless private: pasta in a namespace of the container's own, not a prepared one
    if (rootless && networkMode(c) === 'private') entries.push(...pastaEntries(rootless, c.publish ?? [], `${paths.dir}/${PASTA_PID}`), ...networkEntries(row, paths, undefined, true));
    else entries.push(...networkEntries(row, paths, netnsPath));
  }
  entries.push(...securityEntries(c));
  // auto-remove without a daemon: any engine call removes a container whose supervisor recorded its final
  // exit (reconcile); so that this happens at once, the supervisor's exit command is such a call (podman's
  // conmon runs one the same way). A look, not an `rm`: a foreground `run --rm` still reading holds it.
  // a watch restart of a container that runs a copy of its files must copy them afresh, which only the
  // engine's start does: the supervisor ends the run and runs this start, detached, as it runs exit_arg
  if (c.keep?.watch && c.refreshApp && image.kind === 'path')
    entries.push(...specEach('restart_arg', [process.execPath, cliPath(), '--storage', dirname(dirname(paths.dir)), 'start', row.id]));
  if (c.autoRemove) {
    const storage = dirname(dirname(paths.dir));
    entries.push(...specEach('exit_arg', [process.execPath, cliPath(), '--storage', storage, 'inspect', row.id]));
  }
  if (level === 'strict' && rootlessHost()) {
    // rootless strict: the user's one range, as at standard (the user has no second range to give it)
    entries.push(spec('readonly_root', true));
  } else if (level === 'strict') {
    entries.push(spec('readonly_root', true));
    // the container's own range: no other live container maps to these host ids
    const base = options.idBase ?? STRICT_ID_BASE;
    entries.push(spec('uid_map', [0, base, STRICT_ID_COUNT]), spec('gid_map', [0, base, STRICT_ID_COUNT]));
    // the image's own layers, which the supervisor mounts idmapped to that range (else they are shifted copies)
    if (options.idmap) entries.push(spec('idmap_lower', true));
  }
  return { argv, entries, appRoot, cwd };
}

/** Serialise the plan as the shim reads it: the contract version, then NUL-terminated key=value entries. */
export function encodeSpec(plan: LaunchPlan): Buffer {
  return encodeSpecEntries(plan.entries);
}
