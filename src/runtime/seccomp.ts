// A container's seccomp setting resolved for its capabilities, architecture and kernel into the
// simple lines the supervisor hands to libseccomp (`seccomp=...` spec entries).
import { existsSync } from 'node:fs';
import { createHash, mkdir, rename, rm } from '../lazy.js';
import { arch as osArch, release } from 'node:os';
import { join } from 'node:path';
import type { SeccompProfile, SeccompRule, SeccompSetting } from '../config/seccomp.js';
import type { IsolationType } from '../config/schema.js';
import { EngineError, fieldError } from '../errors.js';
import { runCommand } from './command.js';
import { spec } from './contract.js';
import { defaultSeccompProfile } from './seccomp-default.js';

/** Capability names by number, as the kernel's capability.h numbers them. */
export const CAP_NAMES = [
  'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP', 'LINUX_IMMUTABLE',
  'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER', 'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT',
  'SYS_PTRACE', 'SYS_PACCT', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE', 'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'MKNOD', 'LEASE',
  'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP', 'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG', 'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ',
  'PERFMON', 'BPF', 'CHECKPOINT_RESTORE',
].map((n) => `CAP_${n}`);

/** The host as a profile sees it: seccomp's architecture name, the names rules use for it, the kernel. */
export interface SeccompHost {
  arch: string; // e.g. SCMP_ARCH_X86_64
  archNames: string[]; // e.g. amd64, x86_64 (what `includes.arches` may say)
  kernel: [number, number];
}

const NODE_ARCH: Record<string, [string, string[]]> = {
  x64: ['SCMP_ARCH_X86_64', ['amd64', 'x86_64']],
  arm64: ['SCMP_ARCH_AARCH64', ['arm64', 'aarch64']],
  arm: ['SCMP_ARCH_ARM', ['arm']],
  ia32: ['SCMP_ARCH_X86', ['x86', '386']],
  ppc64: ['SCMP_ARCH_PPC64LE', ['ppc64le']],
  s390x: ['SCMP_ARCH_S390X', ['s390x']],
  riscv64: ['SCMP_ARCH_RISCV64', ['riscv64']],
};

/** This machine's architecture and kernel version. */
export function seccompHost(): SeccompHost {
  const [arch, archNames] = NODE_ARCH[osArch()] ?? ['SCMP_ARCH_NATIVE', [osArch()]];
  const m = /^(\d+)\.(\d+)/.exec(release());
  return { arch, archNames, kernel: m ? [Number(m[1]), Number(m[2])] : [0, 0] };
}

/**
 * Refuse a setting the level cannot honour: strict never runs unconfined, and minimal (no
 * no_new_privs, the host's own view) cannot load a profile a container process could not escape.
 */
export function checkSeccomp(level: IsolationType, setting: SeccompSetting | undefined): void {
  if (setting === 'unconfined' && level === 'strict')
    throw fieldError('INVALID_CONFIG', 'Expected `seccomp` to keep a filter at strict isolation, got `unconfined`. Use `isolation` standard to run without one.', ['seccomp', 'isolation']);
  if (setting !== undefined && typeof setting === 'object' && level === 'minimal')
    throw fieldError('INVALID_CONFIG', 'A `seccomp` profile needs standard or strict isolation: minimal runs trusted code on the host without no_new_privs. Use `isolation` standard.', ['seccomp', 'isolation']);
}

const strip = (s: string, prefix: string) => (s.startsWith(prefix) ? s.slice(prefix.length) : s);

function kernelAtLeast(host: SeccompHost, want: string): boolean {
  const [a, b] = want.split('.').map(Number);
  return host.kernel[0] > a || (host.kernel[0] === a && host.kernel[1] >= b);
}

/** docker's rule selection: every included cap held, the arch named, the kernel new enough; nothing excluded. */
function applies(rule: SeccompRule, caps: Set<string>, host: SeccompHost): boolean {
  const inc = rule.includes;
  if (inc?.caps?.some((c) => !caps.has(c))) return false;
  if (inc?.arches?.length && !inc.arches.some((a) => host.archNames.includes(a))) return false;
  if (inc?.minKernel && !kernelAtLeast(host, inc.minKernel)) return false;
  const exc = rule.excludes;
  if (exc?.caps?.some((c) => caps.has(c))) return false;
  if (exc?.arches?.some((a) => host.archNames.includes(a))) return false;
  if (exc?.minKernel && kernelAtLeast(host, exc.minKernel)) return false;
  return true;
}

function actionOf(action: string, errno: number | undefined, fallback: number): string {
  const a = strip(action, 'SCMP_ACT_');
  return `${a} ${a === 'ERRNO' || a === 'TRACE' ? (errno ?? fallback) : 0}`;
}

/** One profile as supervisor lines: `filter ACTION ERRNO`, `arch NAME`, `flag NAME`, `rule ACTION ERRNO SYSCALL [ARG OP A B]...`. */
export function profileLines(profile: SeccompProfile, capMask: bigint, host: SeccompHost = seccompHost()): string[] {
  const caps = new Set(CAP_NAMES.filter((_, i) => (capMask >> BigInt(i)) & 1n));
  const defErrno = profile.defaultErrnoRet ?? 1;
  const out = [`filter ${actionOf(profile.defaultAction, profile.defaultErrnoRet, 1)}`];
  const mapped = profile.archMap?.find((m) => m.architecture === host.arch);
  const arches = mapped ? [mapped.architecture, ...(mapped.subArchitectures ?? [])] : profile.architectures ?? [];
  for (const a of arches) out.push(`arch ${strip(a, 'SCMP_ARCH_').toLowerCase()}`);
  for (const f of profile.flags ?? []) out.push(`flag ${strip(f, 'SECCOMP_FILTER_FLAG_').toLowerCase()}`);
  for (const rule of profile.syscalls ?? []) {
    if (!applies(rule, caps, host)) continue;
    const act = actionOf(rule.action, rule.errnoRet, defErrno);
    const args = rule.args ?? [];
    // as runc: conditions on distinct arguments all hold (one rule); several on one argument are alternatives
    const distinct = new Set(args.map((a) => a.index)).size === args.length;
    const groups = distinct ? [args] : args.map((a) => [a]);
    for (const name of rule.names ?? [rule.name!])
      for (const g of groups) out.push(['rule', act, name, ...g.map((a) => `${a.index} ${strip(a.op, 'SCMP_CMP_')} ${a.value} ${a.valueTwo}`)].join(' '));
  }
  return out;
}

/**
 * The filters a container's processes load before exec, each as its lines. standard: the default
 * profile, the user's instead, or none when unconfined. strict: the default always, and a user's
 * profile stacked on it, so a profile can narrow strict but never widen it. minimal: none.
 */
export function seccompFilters(level: IsolationType, setting: SeccompSetting | undefined, capMask: bigint, host?: SeccompHost): string[][] {
  checkSeccomp(level, setting);
  if (level === 'minimal' || setting === 'unconfined') return [];
  const profiles: SeccompProfile[] = [];
  if (level === 'strict' || setting === undefined || setting === 'default') profiles.push(defaultSeccompProfile());
  if (typeof setting === 'object') profiles.push(setting);
  return profiles.map((p) => profileLines(p, capMask, host));
}

const FILTER_FLAGS: Record<string, number> = { tsync: 1, log: 2, spec_allow: 4 };

/**
 * Compile each filter to BPF once (libseccomp, through the supervisor binary) and keep it in
 * cacheDir by the hash of its lines: compiling a multi-architecture allowlist takes tens of
 * milliseconds, loading a compiled one almost nothing. Returns the spec entries `seccomp=FLAGS PATH`.
 */
export async function compiledSeccomp(cacheDir: string, filters: string[][], shim: string): Promise<string[]> {
  const out: string[] = [];
  for (const lines of filters) {
    const text = lines.join('\n') + '\n';
    const path = join(cacheDir, `${createHash('sha256').update(text).digest('hex').slice(0, 32)}.bpf`);
    if (!existsSync(path)) {
      await mkdir(cacheDir, { recursive: true, mode: 0o700 });
      // one name per process and filter: two starts of one process may compile the same filter at once
      const tmp = `${path}.${process.pid}.${out.length}.${Math.random().toString(36).slice(2)}.tmp`;
      const r = await runCommand(shim, ['seccomp-compile', tmp], text).catch((e: Error) => ({ code: -1, stderr: e.message }));
      if (r.code !== 0) {
        await rm(tmp, { force: true });
        throw new EngineError('INVALID_CONFIG', `Cannot compile the seccomp filter: ${r.stderr.replace(/^codex32-shim: /, '').trim()}`);
      }
      await rename(tmp, path);
    }
    const flags = lines.filter((l) => l.startsWith('flag ')).reduce((f, l) => f | (FILTER_FLAGS[l.slice(5)] ?? 0), 0);
    out.push(spec('seccomp', [flags, path]));
  }
  return out;
}
