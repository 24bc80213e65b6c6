// Rootless: codex32 run by an ordinary user. What this user can have (a user namespace over its
// /etc/subuid and /etc/subgid ranges, pasta for a private network), and the spec entries that ask the
// supervisor for them.
import { accessSync, constants, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { userInfo } from 'node:os';
import type { PortMapping } from '../config/schema.js';
import { EngineError } from '../errors.js';
import { spec, specEach } from './contract.js';

/** One subordinate id range of /etc/subuid or /etc/subgid. */
export interface IdRange {
  start: number;
  count: number;
}

export interface RootlessHost {
  uid: number;
  gid: number;
  user: string;
  subuid?: IdRange;
  subgid?: IdRange;
  newuidmap?: string;
  newgidmap?: string;
  pasta?: string;
  /** what standard and strict need here and this user lacks */
  missing: string[];
  /** what a private network (pasta) needs and this user lacks */
  networkMissing: string[];
  /** the lowest port an ordinary user may bind (net.ipv4.ip_unprivileged_port_start) */
  lowestPort: number;
}

const BIN_DIRS = ['/usr/bin', '/bin', '/usr/sbin', '/sbin', '/usr/local/bin'];

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The absolute path of a tool on the usual system paths, or undefined. */
function tool(name: string): string | undefined {
  return BIN_DIRS.map((d) => `${d}/${name}`).find(executable);
}

/** The first range of user (by name or uid) in a subuid/subgid file's text, or undefined. */
export function subRangeOf(text: string, user: string, id: number): IdRange | undefined {
  for (const line of text.split('\n')) {
    const [who, start, count] = line.trim().split(':');
    if ((who === user || who === String(id)) && /^\d+$/.test(start ?? '') && /^\d+$/.test(count ?? '') && Number(count) > 0)
      return { start: Number(start), count: Number(count) };
  }
  return undefined;
}

function readOr(path: string, dflt: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return dflt;
  }
}

let cached: RootlessHost | undefined;

/** What this user can have rootless; undefined when codex32 runs as root. */
export function rootlessHost(): RootlessHost | undefined {
  const uid = process.getuid?.() ?? 0;
  if (uid === 0) return undefined;
  if (cached) return cached;
  const gid = process.getgid?.() ?? uid;
  let user = String(uid);
  try {
    user = userInfo().username;
  } catch {
    /* a uid without a passwd entry: its ranges can still be listed by number */
  }
  const subuid = subRangeOf(readOr('/etc/subuid', ''), user, uid);
  const subgid = subRangeOf(readOr('/etc/subgid', ''), user, uid);
  const newuidmap = tool('newuidmap');
  const newgidmap = tool('newgidmap');
  const pasta = tool('pasta');
  const missing: string[] = [];
  if (Number(readOr('/proc/sys/user/max_user_namespaces', '0')) === 0) missing.push('user namespaces (user.max_user_namespaces is 0)');
  if (readOr('/proc/sys/kernel/unprivileged_userns_clone', '1').trim() === '0') missing.push('unprivileged user namespaces (kernel.unprivileged_userns_clone is 0)');
  if (readOr('/proc/sys/kernel/apparmor_restrict_unprivileged_userns', '0').trim() === '1') missing.push('unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns is 1)');
  if (!newuidmap || !newgidmap) missing.push('newuidmap and newgidmap (Debian package uidmap)');
  if (!subuid) missing.push(`a range for ${user} in /etc/subuid (e.g. \`usermod --add-subuids 100000-165535 ${user}\` as root)`);
  if (!subgid) missing.push(`a range for ${user} in /etc/subgid (e.g. \`usermod --add-subgids 100000-165535 ${user}\` as root)`);
  const networkMissing = pasta ? [] : ['pasta (Debian package passt)'];
  const lowestPort = Number(readOr('/proc/sys/net/ipv4/ip_unprivileged_port_start', '1024').trim()) || 1024;
  cached = { uid, gid, user, subuid, subgid, newuidmap, newgidmap, pasta, missing, networkMissing, lowestPort };
  return cached;
}

/** The container's ids: its root is the user, 1 up the user's subordinate range (at most 65535 of it). */
export function rootlessMaps(h: RootlessHost): { uid: Array<[number, number, number]>; gid: Array<[number, number, number]> } {
  const rest = (r: IdRange | undefined): Array<[number, number, number]> => (r ? [[1, r.start, Math.min(r.count, 65535)]] : []);
  return { uid: [[0, h.uid, 1], ...rest(h.subuid)], gid: [[0, h.gid, 1], ...rest(h.subgid)] };
}

/** Spec entries that make the container's user namespace through uidmap's helpers. */
export function rootlessEntries(h: RootlessHost): string[] {
  const m = rootlessMaps(h);
  return [
    spec('newuidmap', h.newuidmap ?? '/usr/bin/newuidmap'),
    spec('newgidmap', h.newgidmap ?? '/usr/bin/newgidmap'),
    ...m.uid.map((l) => spec('userns_uid_map', l)),
    ...m.gid.map((l) => spec('userns_gid_map', l)),
  ];
}

/**
 * Refuse, by name, a command not yet done rootless: each writes image layers whose files it gives to
 * their owners as it goes, which an ordinary user cannot (pull and load unpack in the containers' user
 * mapping; these do not yet).
 */
export function refuseRootless(command: string): void {
  if (!rootlessHost()) return;
  throw new EngineError('HOST_UNSUPPORTED', `\`${command}\` is not available when codex32 runs rootless: it writes image layers with their files' owners, which an ordinary user cannot give. Run it with codex32 as root, or make the image elsewhere and \`codex32 load\` or \`pull\` it.`);
}

/** overlayfs's opaque-directory marker on unpacked layers: trusted.* as root; rootless user.* (mounted with userxattr). */
export function opaqueXattr(): string {
  return rootlessHost() ? 'user.overlay.opaque' : 'trusted.overlay.opaque';
}

/** The file in the run directory pasta writes its pid to. */
export const PASTA_PID = 'pasta.pid';

/** The container's address on pasta's network, its gateway (the host) and the address pasta answers DNS on. */
export const PASTA_ADDRESS = '10.0.2.100';
export const PASTA_GATEWAY = '10.0.2.2';
export const PASTA_DNS = '10.0.2.3';

/** pasta's -t/-u value for one protocol's published ports: [ADDRESS/]HOSTPORT:CONTAINERPORT, or none. */
function portSpecs(publish: PortMapping[], protocol: 'tcp' | 'udp'): string[] {
  const mine = publish.filter((p) => p.protocol === protocol);
  if (!mine.length) return ['none'];
  return mine.map((p) => `${p.hostIp === '0.0.0.0' ? '' : `${p.hostIp}/`}${p.hostPort}:${p.containerPort}`);
}

/**
 * The pasta command for a rootless private network (the supervisor appends the container's pid): the
 * tap configured in the namespace, a fixed address, DNS forwarded to the host's resolver, only the
 * published ports forwarded in and none out to the host's own ports.
 */
export function pastaEntries(h: RootlessHost, publish: PortMapping[], pidFile: string): string[] {
  const argv = [h.pasta ?? '/usr/bin/pasta', '--config-net', '--quiet', '-4', '-a', PASTA_ADDRESS, '-n', '24', '-g', PASTA_GATEWAY, '--dns-forward', PASTA_DNS, '-P', pidFile, '-T', 'none', '-U', 'none'];
  for (const t of portSpecs(publish, 'tcp')) argv.push('-t', t);
  for (const u of portSpecs(publish, 'udp')) argv.push('-u', u);
  return [spec('netns', true), ...specEach('net_helper_arg', argv), spec('net_helper_pid', pidFile)];
}

/**
 * End the pasta of a container's run directory that its supervisor could not (the supervisor was
 * killed): the pid in pasta.pid, only while that process is still a pasta writing that very file.
 */
export function endPasta(runDir: string): void {
  const pidFile = `${runDir}/${PASTA_PID}`;
  const pid = Number(readOr(pidFile, '').trim());
  if (Number.isInteger(pid) && pid > 1) {
    const args = readOr(`/proc/${pid}/cmdline`, '').split('\0');
    if (args.includes(pidFile) && args.includes('--config-net')) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone meanwhile */
      }
    }
  }
  rmSync(pidFile, { force: true });
}

/**
 * Where a rootless engine serves the Docker API by default: $XDG_RUNTIME_DIR/codex32/docker.sock (the
 * user's own runtime directory, as rootless docker and podman do), made 0700; undefined as root or
 * without XDG_RUNTIME_DIR.
 */
export function rootlessSocket(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dir = env.XDG_RUNTIME_DIR;
  if (!rootlessHost() || !dir) return undefined;
  mkdirSync(`${dir}/codex32`, { recursive: true, mode: 0o700 });
  return `${dir}/codex32/docker.sock`;
}
