// docker's security flags at a level's floor: --cap-add/--cap-drop, no-new-privileges, --read-only,
// --tmpfs and --shm-size checked against what the isolation level guarantees, then turned into spec entries.
import type { ResolvedConfig } from '../config/schema.js';
import { CAPS } from '../config/parse-security.js';
import { fieldError } from '../errors.js';
import { spec, specEach } from './contract.js';
import { capabilityMask, HOST_NET_DENIED, sharesHostNetns, STANDARD_CAPS } from './plan.js';

type SecurityConfig = Pick<ResolvedConfig, 'isolation' | 'network' | 'capAdd' | 'capDrop' | 'noNewPrivileges' | 'readOnly' | 'tmpfs' | 'shmSize'>;

/**
 * What strict may add: capabilities whose kernel checks are made against the user namespace that owns
 * the object, so inside strict's own namespace they reach only its files (uids mapped into its range),
 * its processes and its sockets. Leave the network out of it: NET_RAW's packet sockets are kernel code
 * a user namespace reaches and a repeated source of escapes, and strict has no raw network to offer.
 */
export const STRICT_CAPS = ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP', 'NET_BIND_SERVICE', 'SYS_CHROOT', 'MKNOD', 'AUDIT_WRITE', 'SETFCAP'];

/** Why strict refuses a capability (the ones docker's default set holds, and the ones people ask for). */
const STRICT_REFUSED: Record<string, string> = {
  NET_RAW: 'its raw and packet sockets are kernel code with a history of escapes from user namespaces (CVE-2020-14386); use --isolation standard for it',
  NET_ADMIN: 'it configures the network stack (nf_tables, routes, interfaces), the kernel code behind most escapes from user namespaces (CVE-2022-1015, CVE-2023-32233); no level grants it',
  SYS_ADMIN: 'it mounts file systems, makes namespaces and more, the widest kernel surface a user namespace reaches (CVE-2022-0185 needed only it); no level grants it',
  SYS_PTRACE: 'it lets a process rewrite the system calls of others, past the seccomp filter on older kernels; no level grants it',
  DAC_READ_SEARCH: 'open_by_handle_at reads files by handle outside the container\'s root (the "shocker" escape); no level grants it',
  SYS_MODULE: 'it loads kernel code; no level grants it',
};

/** The reason strict refuses capability name (those outside docker's default set share one). */
export function strictRefusal(name: string): string {
  return STRICT_REFUSED[name] ?? (name === 'ALL' ? 'every capability would include SYS_ADMIN and NET_ADMIN; name the ones the container needs' : 'it is outside docker\'s default set, which no level widens');
}

/** Capabilities --cap-add may give back at this level: standard's own set (less the network pair on the host's network), strict's own. */
function addable(c: SecurityConfig): number[] {
  if (c.isolation === 'strict') return STRICT_CAPS.map((n) => CAPS[n]);
  if (c.isolation !== 'standard') return [];
  const denied = sharesHostNetns(c) ? HOST_NET_DENIED : [];
  return STANDARD_CAPS.filter((b) => !denied.includes(b));
}

/**
 * Refuse security flags that would lower the level's floor, or that the level has nothing to apply them to.
 * appReserved: /app holds the image's own content (a path image or `host`), so no tmpfs may hide it.
 */
export function checkSecurity(c: SecurityConfig, appReserved = true): void {
  const level = c.isolation ?? 'standard';
  if (level === 'minimal') {
    // the fields the caller set, by the library's names: each front end shows its own (errors.ts' renameFields)
    const given = [c.capAdd?.length && 'capAdd', c.capDrop?.length && 'capDrop', c.readOnly && 'readOnly', c.tmpfs?.length && 'tmpfs', c.shmSize && 'shmSize'].filter((f): f is string => !!f);
    if (given.length)
      throw fieldError('INVALID_CONFIG', `Expected ${given.map((f) => `\`${f}\``).join(', ')} with \`isolation\` standard or strict: minimal has no capability set or mount namespace of its own to apply them to`, [...given, 'isolation']);
    return;
  }
  if (c.noNewPrivileges === false)
    throw fieldError('INVALID_CONFIG', `Expected \`noNewPrivileges\` to be true at ${level} isolation (its floor), got false. Use \`isolation\` minimal for trusted code.`, ['noNewPrivileges', 'isolation']);
  for (const t of c.tmpfs ?? []) {
    const p = t.path.replace(/\/+$/, '');
    const reserved = ['/proc', '/sys', '/dev', ...(appReserved ? ['/app'] : [])];
    if (!p || p.split('/').includes('..') || reserved.some((f) => p === f || p.startsWith(f + '/')))
      throw fieldError('INVALID_CONFIG', `Expected \`tmpfs\` to be an absolute path outside ${reserved.join(', ')}, not /, got \`${t.path}\``, ['tmpfs']);
  }
  const allowed = addable(c);
  for (const name of c.capAdd ?? []) {
    if (name === 'ALL' || !allowed.includes(CAPS[name])) {
      const why = level === 'strict' ? `: ${name} stays refused at strict because ${strictRefusal(name)}` : '';
      throw fieldError('INVALID_CONFIG', `Expected \`capAdd\` to be one of ${allowed.length ? allowed.map((b) => Object.keys(CAPS).find((k) => CAPS[k] === b)).join(', ') : 'nothing'} at ${level} isolation (its floor is never lowered), got \`${name}\`${why}`, ['capAdd']);
    }
  }
}

/** The capability mask the container runs with: the level's set, less --cap-drop, plus --cap-add. */
export function securityMask(c: SecurityConfig): bigint {
  let mask = capabilityMask(c);
  const drop = c.capDrop ?? [];
  if (drop.includes('ALL')) mask = 0n;
  else for (const n of drop) mask &= ~(1n << BigInt(CAPS[n]));
  // at strict the added ones are held in the container's own user namespace only (checkSecurity vetted them)
  if (c.isolation !== 'minimal') for (const n of c.capAdd ?? []) if (n !== 'ALL') mask |= 1n << BigInt(CAPS[n]);
  return mask;
}

/** Spec entries of --read-only, --tmpfs and minimal's no-new-privileges (standard and strict always set it). */
export function securityEntries(c: SecurityConfig): string[] {
  const e: string[] = [];
  if (c.isolation === 'minimal') return c.noNewPrivileges ? [spec('no_new_privs', true)] : [];
  if (c.readOnly && c.isolation !== 'strict') e.push(spec('readonly_root', true));
  for (const t of c.tmpfs ?? []) e.push(spec('tmpfs', [t.path, `mode=${(t.mode ?? 0o1777).toString(8)}${t.size ? `,size=${t.size}` : ''}`]));
  return e;
}

/** Where a strict container writes under its read-only root: its app and the homes, with the tool caches in them (~/.npm, ~/.cache). */
export const STRICT_WRITABLE = ['/app', '/root', '/home'];
/** The image's system directories: a HOME among them stays read-only with the root. */
const SYSTEM_DIRS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/etc', '/boot', '/proc', '/sys', '/dev', '/var/lib'];

/**
 * Spec entries keeping strict's app, /root, /home and the user's HOME writable on the container's own
 * layer while the rest of the root is read-only: npm, pip and their like write caches under HOME, and an
 * app builder's one code path must run at standard and at strict alike.
 */
export function writableEntries(c: Pick<ResolvedConfig, 'isolation'>, home: string | undefined): string[] {
  if (c.isolation !== 'strict') return [];
  const dirs = [...STRICT_WRITABLE];
  const h = home?.replace(/\/+$/, '') ?? '';
  const under = (list: string[]) => list.some((d) => h === d || h.startsWith(d + '/'));
  if (h.startsWith('/') && !h.split('/').includes('..') && !under(dirs) && !under(SYSTEM_DIRS)) dirs.push(h);
  return specEach('writable', dirs);
}
