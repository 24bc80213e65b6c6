// Parsers for docker's security flags: capabilities, --tmpfs, no-new-privileges.
import { expected } from '../errors.js';
import { parseSize } from './parse.js';

/** Linux capability numbers by docker's names (without CAP_). */
export const CAPS: Record<string, number> = {
  CHOWN: 0, DAC_OVERRIDE: 1, DAC_READ_SEARCH: 2, FOWNER: 3, FSETID: 4, KILL: 5, SETGID: 6, SETUID: 7, SETPCAP: 8,
  LINUX_IMMUTABLE: 9, NET_BIND_SERVICE: 10, NET_BROADCAST: 11, NET_ADMIN: 12, NET_RAW: 13, IPC_LOCK: 14, IPC_OWNER: 15,
  SYS_MODULE: 16, SYS_RAWIO: 17, SYS_CHROOT: 18, SYS_PTRACE: 19, SYS_PACCT: 20, SYS_ADMIN: 21, SYS_BOOT: 22, SYS_NICE: 23,
  SYS_RESOURCE: 24, SYS_TIME: 25, SYS_TTY_CONFIG: 26, MKNOD: 27, LEASE: 28, AUDIT_WRITE: 29, AUDIT_CONTROL: 30, SETFCAP: 31,
  MAC_OVERRIDE: 32, MAC_ADMIN: 33, SYSLOG: 34, WAKE_ALARM: 35, BLOCK_SUSPEND: 36, AUDIT_READ: 37, PERFMON: 38, BPF: 39,
  CHECKPOINT_RESTORE: 40,
};

/** Parse a capability name as docker takes it (CHOWN, cap_chown, ALL) into its canonical form. */
export function parseCap(flag: string, value: string): string {
  const name = value.trim().toUpperCase().replace(/^CAP_/, '');
  if (name !== 'ALL' && !(name in CAPS)) throw expected(flag, 'a capability such as CHOWN, NET_BIND_SERVICE or ALL', value);
  return name;
}

/** Parse `--tmpfs PATH[:size=64m,mode=1777]`. */
export function parseTmpfs(value: string): { path: string; size?: number; mode?: number } {
  const form = 'PATH[:size=SIZE,mode=OCTAL] such as /run:size=16m,mode=755';
  const i = value.indexOf(':');
  const path = i < 0 ? value : value.slice(0, i);
  if (!path.startsWith('/')) throw expected('`--tmpfs`', form, value);
  const out: { path: string; size?: number; mode?: number } = { path };
  for (const opt of i < 0 ? [] : value.slice(i + 1).split(',').filter(Boolean)) {
    const [k, v] = opt.split('=');
    if (k === 'size' && v) out.size = parseSize('`--tmpfs` size', v);
    else if (k === 'mode' && v && /^[0-7]{3,4}$/.test(v)) out.mode = parseInt(v, 8);
    else throw expected('`--tmpfs`', form, value);
  }
  return out;
}

/** Parse `no-new-privileges[=true|false]` (also docker's older `no-new-privileges:true`); undefined for other options. */
export function parseNoNewPrivileges(value: string): boolean | undefined {
  const m = /^no-new-privileges(?:[=:](true|false))?$/.exec(value.trim());
  if (!m) return undefined;
  return m[1] !== 'false';
}
