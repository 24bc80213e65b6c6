// The seccomp filter in real containers: the default profile, a custom one, unconfined, bad profiles.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { missing, ROOT, sandbox, until } from './helpers.js';

const sb = sandbox();
afterAll(() => sb.clean());
const { cli } = sb;
const PROBE = join(ROOT, 'test/fixtures/syscall-probe.py');
const DANGEROUS = ['keyctl', 'add_key', 'kexec_load', 'open_by_handle_at', 'unshare:0x10000000'];

/** Run the probe in a fresh container; returns { NAME: 'ok' | ERRNO } per probe (name them once each). */
async function probe(extra: string[], probes: string[]): Promise<Record<string, string>> {
  const r = await cli(['run', '--rm', ...extra, '-v', `${PROBE}:/probe.py:ro`, 'host', 'python3', '/probe.py', ...probes]);
  expect(r.exitCode, String(r.stderr)).toBe(0);
  return Object.fromEntries(String(r.stdout).split('\n').map((l) => [l.split(' ')[0], l.split(' ')[2]]));
}

const skip = missing({ standard: true, strict: true });
describe.skipIf(!!skip)(`seccomp${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('standard refuses the keyring, kexec, handles and new user namespaces, and allows ordinary work', async () => {
    const r = await probe([], [...DANGEROUS, 'getpid', 'personality:0xffffffff']);
    for (const p of ['keyctl', 'add_key', 'kexec_load', 'open_by_handle_at', 'unshare']) expect(r[p], p).toBe('EPERM');
    expect(r.getpid).toBe('ok');
    expect(r.personality).toBe('ok');
    // unshare without a namespace flag (CLONE_FILES) is harmless and allowed
    expect((await probe([], ['unshare:0x400'])).unshare).toBe('ok');
    // threads (clone3 answers ENOSYS, libc falls back to clone), subprocesses, a shell pipeline
    const w = await cli(['run', '--rm', 'host', 'sh', '-c', 'python3 -c "import threading,subprocess; t=threading.Thread(target=lambda: None); t.start(); t.join(); print(subprocess.run([\'echo\', \'sub\'], capture_output=True).stdout.decode().strip())" | cat']);
    expect(String(w.stdout)).toBe('sub');
    // rmdir(2) itself (busybox's and coreutils' rmdir call it; rm -r calls unlinkat), as docker's profile allows
    const d = await cli(['run', '--rm', '--network', 'none', 'host', 'sh', '-c', 'mkdir /tmp/d && rmdir /tmp/d && python3 -c "import os; os.mkdir(\'/tmp/e\'); os.rmdir(\'/tmp/e\')" && echo removed']);
    expect([String(d.stdout), String(d.stderr)]).toEqual(['removed', '']);
  });

  it('holds for exec and for health checks', async () => {
    const health = `python3 /probe.py keyctl | grep -q EPERM`;
    expect((await cli(['run', '-d', '--name', 'sc-exec', '-v', `${PROBE}:/probe.py:ro`, '--health-cmd', health, '--health-interval', '0.2', 'host', 'sleep', '30'])).exitCode).toBe(0);
    const r = await cli(['exec', 'sc-exec', 'python3', '/probe.py', 'keyctl', 'unshare:0x10000000']);
    expect(String(r.stdout)).toBe('keyctl -1 EPERM\nunshare -1 EPERM');
    await until(async () => (await sb.inspect('sc-exec')).State.Health.Status === 'healthy', 20_000);
    await cli(['rm', '-f', 'sc-exec']);
  });

  it('strict refuses the same, and refuses to run unconfined', async () => {
    const r = await probe(['--isolation', 'strict'], DANGEROUS);
    for (const p of ['keyctl', 'add_key', 'kexec_load', 'open_by_handle_at', 'unshare']) expect(r[p], p).toBe('EPERM');
    const u = await cli(['run', '--rm', '--isolation', 'strict', '--security-opt', 'seccomp=unconfined', 'host', 'true']);
    expect(u.exitCode).toBe(125);
    expect(String(u.stderr)).toMatch(/keep a filter at strict isolation, got `unconfined`/);
  });

  it('unconfined lifts the filter at standard', async () => {
    const r = await probe(['--security-opt', 'seccomp=unconfined'], ['keyctl', 'unshare:0x10000000']);
    expect(r.keyctl).not.toBe('EPERM'); // the kernel's own answer to a bad keyctl call
    expect(r.unshare).toBe('ok');
  });

  it('a custom profile in docker format replaces the default at standard and narrows strict', async () => {
    const file = join(sb.storage, 'no-mkdir.json');
    writeFileSync(file, JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }] }));
    const std = await probe(['--security-opt', `seccomp=${file}`], ['mkdirat', 'keyctl']);
    expect(std.mkdirat).toBe('EACCES');
    expect(std.keyctl).not.toBe('EPERM'); // the profile replaced the default one
    const strict = await probe(['--isolation', 'strict', '--security-opt', `seccomp=${file}`], ['mkdirat', 'keyctl']);
    expect(strict.mkdirat).toBe('EACCES');
    expect(strict.keyctl).toBe('EPERM'); // the default still holds beneath it
    const i = await cli(['create', '--name', 'sc-inspect', '--security-opt', `seccomp=${file}`, 'host', 'true']);
    expect(i.exitCode).toBe(0);
    expect((await sb.inspect('sc-inspect')).HostConfig.SecurityOpt[0]).toMatch(/^seccomp=\{"defaultAction":"SCMP_ACT_ALLOW"/);
    await cli(['rm', 'sc-inspect']);
  });

  it('a malformed profile is refused with exit 125, the field named, and nothing created', async () => {
    const file = join(sb.storage, 'bad.json');
    writeFileSync(file, JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ALLOW' }, { names: ['x'], action: 'ALLOW' }] }));
    const r = await cli(['run', '--rm', '--name', 'sc-bad', '--security-opt', `seccomp=${file}`, 'host', 'true']);
    expect(r.exitCode).toBe(125);
    expect(String(r.stderr)).toMatch(/Expected `syscalls\[1\]\.action` in the seccomp profile .*bad.json to be one of SCMP_ACT_KILL.*got `ALLOW`/);
    writeFileSync(file, '{"defaultAction": ');
    expect((await cli(['create', '--security-opt', `seccomp=${file}`, 'host', 'true'])).exitCode).toBe(125);
    expect((await cli(['create', '--security-opt', 'seccomp=/no/such/profile.json', 'host', 'true'])).stderr).toMatch(/readable JSON profile, got `\/no\/such\/profile.json`/);
    expect((await cli(['create', '--security-opt', 'apparmor=x', 'host', 'true'])).exitCode).toBe(125);
    expect(String((await cli(['ps', '-aq'])).stdout)).toBe('');
  });
});
