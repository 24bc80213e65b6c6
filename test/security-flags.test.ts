// docker's security flags on real containers: capabilities, no-new-privileges, read-only root, tmpfs, shm.
import { afterAll, describe, expect, it } from 'vitest';
import { missing, sandbox } from './helpers.js';

const skip = missing({ standard: true, strict: true });
const sb = sandbox('c32-sec-');
afterAll(() => sb.clean());
const { cli, inspect } = sb;

const capEff = (out: string) => BigInt('0x' + /CapEff:\s*(\w+)/.exec(out)![1]);
const bit = (n: number) => 1n << BigInt(n);

describe.skipIf(!!skip)(`security flags${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('--cap-drop ALL --cap-add CHOWN SETUID SETGID leaves exactly those three', async () => {
    const r = await cli(['run', '--rm', '--cap-drop', 'ALL', '--cap-add', 'CHOWN', '--cap-add', 'cap_setuid', '--cap-add', 'SETGID', 'host', 'grep', 'CapEff', '/proc/self/status']);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(capEff(String(r.stdout))).toBe(bit(0) | bit(6) | bit(7));
  });

  it('--cap-drop takes one capability away from the level\'s set', async () => {
    const r = await cli(['run', '--rm', '--cap-drop', 'NET_BIND_SERVICE', 'host', 'sh', '-c', 'grep CapEff /proc/self/status; python3 -c "import socket; s=socket.socket(); s.bind((\'127.0.0.1\', 80))" 2>&1 | tail -1']);
    expect(capEff(String(r.stdout)) & bit(10)).toBe(0n);
    expect(String(r.stdout)).toMatch(/Permission denied/);
  });

  it('a level\'s floor is never lowered: SYS_ADMIN at standard or strict, NET_RAW at strict, no-new-privileges=false', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--cap-add', 'SYS_ADMIN'], /Expected `--cap-add` to be one of .* at standard isolation \(its floor is never lowered\), got `SYS_ADMIN`/],
      [['--isolation', 'strict', '--cap-add', 'SYS_ADMIN'], /Expected `--cap-add` to be one of CHOWN, .* at strict isolation .*got `SYS_ADMIN`: SYS_ADMIN stays refused at strict because/],
      [['--isolation', 'strict', '--cap-add', 'NET_RAW'], /at strict isolation .*got `NET_RAW`: NET_RAW stays refused at strict because/],
      [['--cap-add', 'ALL'], /got `ALL`/],
      [['--network', 'host', '--cap-add', 'NET_RAW'], /got `NET_RAW`/],
      [['--cap-add', 'FLY'], /Expected `--cap-add` to be a capability such as CHOWN/],
      [['--cap-drop', 'BOGUS'], /Expected `--cap-drop` to be a capability/],
      [['--security-opt', 'no-new-privileges=false'], /Expected `--security-opt no-new-privileges` to be true at standard/],
      [['--security-opt', 'no-new-privileges=maybe'], /Expected `--security-opt` to be seccomp=unconfined, seccomp=PROFILE.json or no-new-privileges/],
      [['--tmpfs', 'relative'], /Expected `--tmpfs` to be PATH/],
      [['--tmpfs', '/proc/x'], /outside \/proc/],
      [['--tmpfs', '/run:size=-1'], /Expected `--tmpfs` size to be a size/],
      [['--shm-size', '1e99'], /Expected `--shm-size` to be a size/],
      [['--isolation', 'minimal', '--read-only'], /Expected `--read-only` with `--isolation` standard or strict/],
    ];
    for (const [flags, msg] of cases) {
      const r = await cli(['run', '--rm', ...flags, 'host', 'true']);
      expect(r.exitCode, flags.join(' ')).toBe(125);
      expect(String(r.stderr), flags.join(' ')).toMatch(msg);
    }
    expect(String((await cli(['ps', '-aq'])).stdout)).toBe('');
  });

  it('no-new-privileges at minimal sets NoNewPrivs; standard always has it', async () => {
    const m = await cli(['run', '--rm', '--isolation', 'minimal', '--security-opt', 'no-new-privileges', 'host', 'grep', 'NoNewPrivs', '/proc/self/status']);
    expect(String(m.stdout)).toMatch(/NoNewPrivs:\s*1/);
    const plain = await cli(['run', '--rm', '--isolation', 'minimal', 'host', 'grep', 'NoNewPrivs', '/proc/self/status']);
    expect(String(plain.stdout)).toMatch(/NoNewPrivs:\s*0/);
  });

  it('--read-only with --tmpfs: the root refuses writes, the tmpfs takes them at its size and mode', async () => {
    const script = 'touch /etc/x 2>/dev/null && echo root-writable; touch /run/ok && echo tmpfs-ok; stat -c %a /run; df -k /run | tail -1 | awk "{print \\$2}"; df -k /dev/shm | tail -1 | awk "{print \\$2}"';
    const r = await cli(['run', '--rm', '--name', 'ro', '--read-only', '--tmpfs', '/run:size=8m,mode=750', '--shm-size', '16m', 'host', 'sh', '-c', script]);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(String(r.stdout).split('\n')).toEqual(['tmpfs-ok', '750', String(8 * 1024), String(16 * 1024)]);
  });

  it('inspect shows the flags in docker\'s shape', async () => {
    await cli(['create', '--name', 'shown', '--cap-drop', 'ALL', '--cap-add', 'CHOWN', '--read-only', '--tmpfs', '/run:size=1m', 'host', 'true']);
    const h = (await inspect('shown')).HostConfig;
    expect(h.CapDrop).toEqual(['ALL']);
    expect(h.CapAdd).toEqual(['CHOWN']);
    expect(h.ReadonlyRootfs).toBe(true);
    expect(h.Tmpfs).toEqual({ '/run': 'size=1048576' });
    expect(h.SecurityOpt).toContain('no-new-privileges');
    await cli(['rm', 'shown']);
  });
});
