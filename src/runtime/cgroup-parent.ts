// Where containers' cgroups go on cgroup v2: a subtree delegated to codex32, never systemd's own tree.
// Without systemd, codex32 owns ROOT/codex32. Under systemd, the tree belongs to systemd except below a
// unit with Delegate=yes: the unit codex32 runs in when it has one (the startup unit, or a
// `systemd-run --scope -p Delegate=yes` shell), else codex32's own delegated scope, codex32.scope in
// codex32.slice, started through systemd's D-Bus API the first time it is needed. Rootless, the same
// within the user's own systemd manager (user@UID.service, which systemd delegates to the user): the
// user's codex32.scope, and processes moved into it by that manager when they start outside the
// user's tree (a login session's scope is root's: only systemd may move a process out of it).
import { spawnSync } from '../lazy.js';
import { existsSync, mkdirSync, readFileSync, statfsSync, writeFileSync } from 'node:fs';
import { EngineError } from '../errors.js';

const SCOPE = 'codex32.scope';
/** codex32's own delegated scope: in the system manager's tree, or rootless in the user manager's. */
const OWN_SCOPE = `/codex32.slice/${SCOPE}`;
/** Within a delegated unit: the leaf the engine and supervisors live in, and the containers' parent. */
const LEAF = 'supervise';
export const CONTAINERS = 'containers';
const CONTROLLERS = ['cpu', 'io', 'memory', 'pids'];

export interface V2Parent {
  manager: 'systemd' | 'cgroupfs';
  /** the delegated cgroup (relative to the root), or undefined without systemd */
  delegated?: string;
  /** how the delegation was found: the unit's own Delegate=yes, or codex32's own scope */
  how: string;
}

/** This process's cgroup v2 path ("0::/path" in /proc/self/cgroup). */
export function ownCgroup(): string {
  const line = readOr('/proc/self/cgroup').split('\n').find((l) => l.startsWith('0::'));
  return line ? line.slice(3).trim() || '/' : '/';
}

/** True where systemd is PID 1 (its runtime directory exists only then). */
export function systemdRuns(): boolean {
  return existsSync('/run/systemd/system');
}

const uid = () => process.getuid?.() ?? 0;

/** Rootless: the user's own systemd manager's cgroup (user@UID.service), or undefined as root. */
export function userManagerCgroup(): string | undefined {
  const u = uid();
  return u === 0 ? undefined : `/user.slice/user-${u}.slice/user@${u}.service`;
}

/** Rootless: true when the user's systemd manager runs (its cgroup exists only while it does). */
export function userManagerRuns(root = '/sys/fs/cgroup'): boolean {
  const m = userManagerCgroup();
  return !!m && systemdRuns() && existsSync(`${root}${m}`);
}

/** The manager's tree codex32's own scope goes in: the whole tree as root, user@UID.service rootless. */
const base = () => userManagerCgroup() ?? '';
const ownScope = () => `${base()}${OWN_SCOPE}`;

/** systemctl and busctl: the system manager as root, the user's own rootless (its bus found without XDG_RUNTIME_DIR too). */
function managerCall(tool: 'systemctl' | 'busctl', args: string[], timeout: number) {
  if (uid() === 0) return spawnSync(tool, args, { encoding: 'utf8', timeout });
  const env = { ...process.env };
  if (!env.DBUS_SESSION_BUS_ADDRESS && !existsSync(`${env.XDG_RUNTIME_DIR}/bus`)) env.DBUS_SESSION_BUS_ADDRESS = `unix:path=/run/user/${uid()}/bus`;
  return spawnSync(tool, ['--user', ...args], { encoding: 'utf8', timeout, env });
}

/** The unit cgroup a path is in: its deepest ancestor-or-self named NAME.service or NAME.scope, within the manager's tree. */
function unitOf(path: string): string | undefined {
  const parts = path.split('/');
  const floor = base().split('/').length; // rootless: user@UID.service itself is the manager, not a unit of it
  for (let i = parts.length; i > floor; i--) if (/\.(service|scope)$/.test(parts[i - 1])) return parts.slice(0, i).join('/');
  return undefined;
}

/** True when systemd says the unit has Delegate=yes. */
function delegatedUnit(unitPath: string): boolean {
  if (unitPath === ownScope()) return true;
  if (!unitPath.startsWith(`${base()}/`)) return false; // rootless: a unit of the system manager is not the user's
  const unit = unitPath.slice(unitPath.lastIndexOf('/') + 1);
  const r = managerCall('systemctl', ['show', '--property=Delegate', '--value', unit], 10_000);
  return r.status === 0 && r.stdout.trim() === 'yes';
}

/** Which v2 subtree codex32 uses on this host, without creating anything (for `codex32 info`). */
export function describeV2Parent(): V2Parent {
  if (process.env.CODEX32_CGROUP_PARENT) return { manager: systemdRuns() ? 'systemd' : 'cgroupfs', delegated: process.env.CODEX32_CGROUP_PARENT, how: 'CODEX32_CGROUP_PARENT' };
  if (!systemdRuns()) return { manager: 'cgroupfs', how: 'no systemd: codex32 owns /codex32' };
  const whose = uid() === 0 ? '' : "the user's ";
  const unit = unitOf(ownCgroup());
  if (unit && delegatedUnit(unit)) return { manager: 'systemd', delegated: unit, how: unit === ownScope() ? `${whose}codex32.scope (Delegate=yes)` : `this unit's Delegate=yes` };
  return { manager: 'systemd', delegated: ownScope(), how: `${whose}codex32.scope (Delegate=yes), started when first needed` };
}

/**
 * The directory containers' cgroups are made in, created and with the controllers enabled for its
 * children. Under systemd this moves the calling process into the delegated unit's leaf: the
 * no-internal-process rule lets a cgroup hold processes or enable controllers for children, not both.
 */
export function ensureV2Parent(root: string): string {
  // a tree that is not a real cgroup2 mount (a test's fake) is nobody's: codex32 owns ROOT/codex32
  const p = isCgroup2(root) ? describeV2Parent() : { manager: 'cgroupfs', how: 'not a cgroup2 mount', delegated: undefined };
  if (!p.delegated) {
    const dir = `${root}/codex32`;
    mkdirSync(dir, { recursive: true });
    enable(root, dir);
    return dir;
  }
  const unit = `${root}${p.delegated}`;
  if (p.delegated === ownScope() && !existsSync(unit)) startOwnScope(unit);
  const leaf = `${unit}/${LEAF}`;
  mkdirSync(leaf, { recursive: true });
  if (!ownCgroup().startsWith(`${p.delegated}/`)) moveHere(p.delegated, `${leaf}/cgroup.procs`);
  // the unit's own processes (a delegated shell, or a service's main process) go to the leaf too
  for (const pid of readOr(`${unit}/cgroup.procs`).split('\n').filter(Boolean)) tryWrite(`${leaf}/cgroup.procs`, pid);
  const dir = `${unit}/${CONTAINERS}`;
  mkdirSync(dir, { recursive: true });
  enable(unit, dir);
  return dir;
}

/**
 * Rootless, under a running user manager: put this process in the user's own tree before it starts a
 * process that joins a container's cgroup (an exec's helper, the launcher's supervisors). An ordinary
 * user moves a process only between cgroups of its own; one already in the user's tree stays.
 */
export function enterUserTree(root = '/sys/fs/cgroup'): void {
  const m = userManagerCgroup();
  if (!m || ownCgroup().startsWith(`${m}/`) || !userManagerRuns(root)) return;
  ensureV2Parent(root);
}

/** Enable the controllers codex32 uses (those the parent offers) for a cgroup's children, then dir's. */
function enable(parentDir: string, dir: string): void {
  const offered = (d: string) => readOr(`${d}/cgroup.controllers`).split(/\s+/).filter((c) => CONTROLLERS.includes(c));
  const want = (d: string) => offered(d).filter((c) => !readOr(`${d}/cgroup.subtree_control`).split(/\s+/).includes(c));
  const top = want(parentDir);
  if (top.length) write(`${parentDir}/cgroup.subtree_control`, top.map((c) => `+${c}`).join(' '));
  const below = want(dir);
  if (below.length) write(`${dir}/cgroup.subtree_control`, below.map((c) => `+${c}`).join(' '));
}

/**
 * Move this process into the delegated unit's leaf. Root writes cgroup.procs. An ordinary user may
 * move a process only between cgroups of its own, so one started outside its tree (a login session's
 * scope, a system service) asks its systemd manager, which has the system manager move it.
 */
function moveHere(unitPath: string, procs: string): void {
  const m = userManagerCgroup();
  if (!m || ownCgroup().startsWith(`${m}/`)) return write(procs, String(process.pid));
  const unit = unitPath.slice(unitPath.lastIndexOf('/') + 1);
  const r = managerCall('busctl', ['call', '--quiet', 'org.freedesktop.systemd1', '/org/freedesktop/systemd1', 'org.freedesktop.systemd1.Manager', 'AttachProcessesToUnit',
    'ssau', unit, `/${LEAF}`, '1', String(process.pid)], 30_000);
  if (r.status !== 0 || !ownCgroup().startsWith(`${unitPath}/`))
    throw new EngineError('RUNTIME_FAILED', `Cannot move codex32 (pid ${process.pid}) into ${unitPath}/${LEAF}, its delegated cgroup: ${(r.stderr || r.error?.message || 'the user\'s systemd manager did not move it').trim()}. Run codex32 inside the user's systemd session (e.g. \`systemd-run --user --scope -p Delegate=yes codex32 ...\`).`);
}

/** Start codex32.scope (Delegate=yes, TasksMax=infinity, in codex32.slice) with this process in it, as systemd-run --scope does. */
function startOwnScope(dir: string): void {
  const r = managerCall('busctl', ['call', '--quiet', 'org.freedesktop.systemd1', '/org/freedesktop/systemd1', 'org.freedesktop.systemd1.Manager', 'StartTransientUnit',
    'ssa(sv)a(sa(sv))', SCOPE, 'fail', '5', 'PIDs', 'au', '1', String(process.pid), 'Delegate', 'b', 'true', 'Slice', 's', 'codex32.slice',
    // systemd's default TasksMax (15% of pid_max) would cap every container together; each has its own --pids
    'TasksMax', 't', '18446744073709551615',
    'Description', 's', 'codex32 containers (delegated cgroups)', '0'], 30_000);
  // systemd answers with a queued job: the scope is ready once it has moved this process into it (the
  // process must not go to the leaf before, or systemd's move would put it back into the unit itself).
  // When another codex32 started it first the call fails, and the scope existing is all that is needed.
  const ready = r.status === 0 ? () => ownCgroup() === ownScope() : () => existsSync(dir);
  for (let i = 0; i < 1000 && !ready(); i++) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
  if (!existsSync(dir))
    throw new EngineError('RUNTIME_FAILED', `Cannot start codex32.scope, the delegated cgroup codex32 needs under systemd: ${(r.stderr || r.error?.message || 'no cgroup appeared').trim()}. Run codex32 from a unit with Delegate=yes, or set CODEX32_CGROUP_PARENT to a delegated cgroup.`);
}

function isCgroup2(path: string): boolean {
  try {
    return statfsSync(path).type === 0x63677270;
  } catch {
    return false;
  }
}

function readOr(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function write(path: string, value: string): void {
  try {
    writeFileSync(path, value);
  } catch (cause) {
    throw new EngineError('RUNTIME_FAILED', `Cannot write ${value} to ${path}: ${(cause as Error).message}`, { cause, context: { path } });
  }
}

function tryWrite(path: string, value: string): void {
  try {
    writeFileSync(path, value);
  } catch {
    /* gone already, or a kernel thread: it stays */
  }
}
