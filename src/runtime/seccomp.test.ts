import { describe, expect, it } from 'vitest';
import { parseSeccompOpt, parseSeccompProfile } from '../config/seccomp.js';
import { STANDARD_CAPS } from './plan.js';
import { CAP_NAMES, profileLines, seccompFilters, type SeccompHost } from './seccomp.js';

const x64: SeccompHost = { arch: 'SCMP_ARCH_X86_64', archNames: ['amd64', 'x86_64'], kernel: [6, 1] };
const mask = (bits: number[]) => bits.reduce((m, b) => m | (1n << BigInt(b)), 0n);
const standard = mask(STANDARD_CAPS);
const rulesFor = (lines: string[], name: string) => lines.filter((l) => l.split(' ')[3] === name);

describe('seccomp profile parsing', () => {
  it('accepts docker-format profiles and names the bad field of a malformed one', () => {
    const p = parseSeccompProfile(JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] }), 'p.json');
    expect(p.syscalls?.[0].names).toEqual(['mkdir']);
    const bad = (o: unknown) => () => parseSeccompProfile(JSON.stringify(o), 'p.json');
    expect(bad({ defaultAction: 'SCMP_ACT_NOPE' })).toThrow(/`defaultAction` in the seccomp profile p.json to be one of SCMP_ACT_KILL.*got `SCMP_ACT_NOPE`/);
    expect(bad({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['x'], action: 'SCMP_ACT_ALLOW' }, { names: ['y'], action: 'SCMP_ACT_ALLOW', args: [{ index: 9, value: 1, op: 'SCMP_CMP_EQ' }] }] })).toThrow(/`syscalls\[1\]\.args\[0\]\.index`/);
    expect(bad({ defaultActon: 'SCMP_ACT_ALLOW' })).toThrow(/`defaultAction`/);
    expect(bad({ defaultAction: 'SCMP_ACT_ALLOW', defaultActon: 1 })).toThrow(/unknown fields \(defaultActon\)/);
    expect(bad({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ action: 'SCMP_ACT_ALLOW' }] })).toThrow(/`syscalls\[0\]`.*names/);
    expect(bad({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['a'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 2 ** 60, op: 'SCMP_CMP_EQ' }] }] })).toThrow(/value/);
    expect(() => parseSeccompProfile('{', 'p.json')).toThrow(/to be JSON/);
    expect(() => parseSeccompOpt('seccomp=/nonexistent.json', () => { throw new Error('ENOENT'); })).toThrow(/readable JSON profile, got `\/nonexistent.json`/);
    expect(parseSeccompOpt('seccomp=unconfined', () => '')).toBe('unconfined');
  });
});

describe('the default profile resolved for a container', () => {
  const std = seccompFilters('standard', undefined, standard, x64)[0];

  it('denies with EPERM by default and allows only what is listed, for x86_64 and its 32-bit forms', () => {
    expect(std[0]).toBe('filter ERRNO 1');
    expect(std.filter((l) => l.startsWith('arch '))).toEqual(['arch x86_64', 'arch x86', 'arch x32']);
    expect(rulesFor(std, 'read')).toEqual(['rule ALLOW 0 read']);
    for (const denied of ['keyctl', 'add_key', 'request_key', 'kexec_load', 'open_by_handle_at', 'mount', 'setns', 'bpf', 'io_uring_setup', 'reboot'])
      expect(rulesFor(std, denied), denied).toEqual([]);
  });

  it('lets clone and unshare make threads and processes but no namespace without CAP_SYS_ADMIN', () => {
    expect(rulesFor(std, 'clone')).toEqual([`rule ALLOW 0 clone 0 MASKED_EQ ${0x7e020000} 0`]);
    expect(rulesFor(std, 'unshare')).toEqual([`rule ALLOW 0 unshare 0 MASKED_EQ ${0x7e020080} 0`]);
    expect(rulesFor(std, 'clone3')).toEqual(['rule ERRNO 38 clone3']);
    expect(rulesFor(std, 'personality').map((l) => l.split(' ')[6])).toEqual(['0', '8', '131072', '131080', '4294967295']);
  });

  it('grants what a capability opens only with that capability', () => {
    expect(rulesFor(std, 'chroot')).toEqual(['rule ALLOW 0 chroot']); // SYS_CHROOT is in standard's set
    const admin = seccompFilters('standard', 'default', standard | mask([CAP_NAMES.indexOf('CAP_SYS_ADMIN'), CAP_NAMES.indexOf('CAP_DAC_READ_SEARCH')]), x64)[0];
    expect(rulesFor(admin, 'clone')).toEqual(['rule ALLOW 0 clone']);
    expect(rulesFor(admin, 'mount')).toEqual(['rule ALLOW 0 mount']);
    expect(rulesFor(admin, 'open_by_handle_at')).toEqual(['rule ALLOW 0 open_by_handle_at']);
    const strict = seccompFilters('strict', undefined, 0n, x64)[0];
    expect(rulesFor(strict, 'chroot')).toEqual([]);
  });

  it('follows the kernel and the architecture', () => {
    const old = seccompFilters('standard', undefined, standard, { ...x64, kernel: [4, 4] })[0];
    expect(rulesFor(old, 'ptrace')).toEqual([]);
    expect(rulesFor(std, 'ptrace')).toEqual(['rule ALLOW 0 ptrace']);
    const arm = seccompFilters('standard', undefined, standard, { arch: 'SCMP_ARCH_AARCH64', archNames: ['arm64'], kernel: [6, 1] })[0];
    expect(arm.filter((l) => l.startsWith('arch '))).toEqual(['arch aarch64', 'arch arm']);
    expect(rulesFor(arm, 'arch_prctl')).toEqual([]);
    expect(rulesFor(std, 'arch_prctl')).toEqual(['rule ALLOW 0 arch_prctl']);
  });
});

describe('seccomp per isolation level', () => {
  const custom = parseSeccompProfile(JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }] }), 'p.json');

  it('standard: a custom profile replaces the default; unconfined has none', () => {
    const e = seccompFilters('standard', custom, standard, x64);
    expect(e).toEqual([['filter ALLOW 0', 'rule ERRNO 13 mkdir', 'rule ERRNO 13 mkdirat']]);
    expect(seccompFilters('standard', 'unconfined', standard, x64)).toEqual([]);
  });

  it('strict: a custom profile is stacked on the default, unconfined is refused', () => {
    const e = seccompFilters('strict', custom, 0n, x64);
    expect(e.map((f) => f[0])).toEqual(['filter ERRNO 1', 'filter ALLOW 0']);
    expect(() => seccompFilters('strict', 'unconfined', 0n, x64)).toThrow(/keep a filter at strict/);
  });

  it('minimal: no filter, and a profile is refused rather than ignored', () => {
    expect(seccompFilters('minimal', undefined, 0n, x64)).toEqual([]);
    expect(() => seccompFilters('minimal', custom, 0n, x64)).toThrow(/needs standard or strict/);
  });

  it('conditions on one argument are alternatives, on different arguments all must hold', () => {
    const p = parseSeccompProfile(JSON.stringify({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [
      { names: ['a'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }, { index: 0, value: 2, op: 'SCMP_CMP_EQ' }] },
      { names: ['b'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }, { index: 1, value: 2, op: 'SCMP_CMP_GT' }] },
    ] }), 'p.json');
    expect(profileLines(p, 0n, x64).slice(1)).toEqual(['rule ALLOW 0 a 0 EQ 1 0', 'rule ALLOW 0 a 0 EQ 2 0', 'rule ALLOW 0 b 0 EQ 1 0 1 GT 2 0']);
  });
});
