// docker's security flags at a level's floor: --cap-add/--cap-drop, no-new-privileges, --read-only,
// --tmpfs and --shm-size checked against what the isolation level guarantees, then turned into spec entries.
import type { ResolvedConfig } from '../config/schema.js';
import { CAPS } from '../config/parse-security.js';
import { EngineError, fieldError } from '../errors.js';
import { spec } from './contract.js';
import { capabilityMask, HOST_NET_DENIED, sharesHostNetns, STANDARD_CAPS } from './plan.js';

type SecurityConfig = Pick<ResolvedConfig, 'isolation' | 'network' | 'capAdd' | 'capDrop' | 'noNewPrivileges' | 'readOnly' | 'tmpfs' | 'shmSize'>;
const bad = (msg: string) => new EngineError('INVALID_CONFIG', msg);

/** Capabilities --cap-add may give back at this level: standard's own set (less the network pair on the host's network). */
function addable(c: SecurityConfig): number[] {
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
  const caps = [...(c.capAdd ?? []), ...(c.capDrop ?? [])];
  if (level === 'minimal') {
    const given = [caps.length && '--cap-add/--cap-drop', c.readOnly && '--read-only', c.tmpfs?.length && '--tmpfs', c.shmSize && '--shm-size'].filter(Boolean);
    if (given.length) throw bad(`Expected ${given.join(', ')} with --isolation standard or strict: minimal has no capability set or mount namespace of its own to apply them to`);
    return;
  }
  if (c.noNewPrivileges === false) throw bad(`Expected \`--security-opt no-new-privileges\` to be true at ${level} isolation (its floor), got false. Use --isolation minimal for trusted code.`);
  for (const t of c.tmpfs ?? []) {
    const p = t.path.replace(/\/+$/, '');
    const reserved = ['/proc', '/sys', '/dev', ...(appReserved ? ['/app'] : [])];
    if (!p || p.split('/').includes('..') || reserved.some((f) => p === f || p.startsWith(f + '/')))
      throw bad(`Expected \`--tmpfs\` to be an absolute path outside ${reserved.join(', ')}, not /, got \`${t.path}\``);
  }
  const allowed = addable(c);
  for (const name of c.capAdd ?? []) {
    if (name === 'ALL' || !allowed.includes(CAPS[name]))
      throw fieldError('INVALID_CONFIG', `Expected \`capAdd\` to be one of ${allowed.length ? allowed.map((b) => Object.keys(CAPS).find((k) => CAPS[k] === b)).join(', ') : 'nothing'} at ${level} isolation (its floor is never lowered), got \`${name}\``, ['capAdd']);
  }
}

/** The capability mask the container runs with: the level's set, less --cap-drop, plus --cap-add. */
export function securityMask(c: SecurityConfig): bigint {
  let mask = capabilityMask(c);
  const drop = c.capDrop ?? [];
  if (drop.includes('ALL')) mask = 0n;
  else for (const n of drop) mask &= ~(1n << BigInt(CAPS[n]));
  if (c.isolation === 'standard') for (const n of c.capAdd ?? []) if (n !== 'ALL') mask |= 1n << BigInt(CAPS[n]);
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
