// The supervisor keeps every entry of a spec, however many: a long environment cannot push the masks,
// read-only paths or strict's user mapping out of it. What execve itself cannot take is refused at create.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { missing, sandbox } from './helpers.js';

const sb = sandbox('c32-suplimits-');
afterAll(() => sb.clean());
const env = { ...sb.env, CODEX32_NATIVE: '0' };

/** -e V1=1 ... -e Vn=n */
function manyEnv(n: number, value = (i: number) => String(i)): string[] {
  const out: string[] = [];
  for (let i = 1; i <= n; i++) out.push('-e', `V${i}=${value(i)}`);
  return out;
}

// what the container reports about itself: its env count, the masked /proc/keys, a write to /proc/sys, its uid map
const PROBE = [
  'echo "vars=$(env | grep -c "^V[0-9]*=")"',
  'echo "last=$V4100"',
  'echo "keys=$(wc -c < /proc/keys)"',
  'grep -q " /proc/keys " /proc/self/mountinfo && echo keys-masked',
  'grep " /proc/sys " /proc/self/mountinfo | grep -q " ro," && echo sys-ro',
  '(echo 1 > /proc/sys/vm/overcommit_memory) 2>&1 | grep -q "Read-only file system" && echo sys-write-refused',
  'echo "map=$(cat /proc/self/uid_map | tr -s " ")"',
].join('; ');

describe('a spec of more than 4096 entries', () => {
  for (const level of ['standard', 'strict'] as const) {
    it.skipIf(missing({ [level]: true }))(`4100 environment entries at ${level}: every variable, mask and read-only path in place`, async () => {
      const r = await sb.cli(['run', '--rm', '--isolation', level, ...manyEnv(4100), 'host', 'sh', '-c', PROBE], { env });
      expect(r.stderr).toBe('');
      expect(r.exitCode).toBe(0);
      const out = String(r.stdout);
      expect(out).toContain('vars=4100');
      expect(out).toContain('last=4100');
      expect(out).toContain('keys=0');
      expect(out).toContain('keys-masked');
      expect(out).toContain('sys-ro');
      expect(out).toContain('sys-write-refused');
      // strict's root is an unprivileged host uid: the mapping comes after the environment in the spec
      if (level === 'strict') expect(out).toMatch(/map= ?0 100000 65536/);
      else expect(out).toMatch(/map= ?0 0 4294967295/);
    });
  }

  it('an environment larger than execve takes is refused at create, with the numbers and what to do', async () => {
    // 4100 values of 1000 bytes: about 4 MB, over the kernel's 2 MiB for an 8 MiB stack limit (and
    // too large for the CLI's own command line: an env file carries them)
    const file = join(sb.storage, 'big.env');
    writeFileSync(file, Array.from({ length: 4100 }, (_, i) => `V${i}=${'x'.repeat(1000)}\n`).join(''));
    const r = await sb.cli(['create', '--isolation', 'minimal', '--env-file', file, 'host', 'true'], { env });
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/at most \d+ bytes \(the kernel's execve limit/);
    expect(r.stderr).toMatch(/in 1 arguments and 4103 environment variables/); // with PATH, HOME, HOSTNAME
    expect(r.stderr).toMatch(/fewer or shorter -e values/);
    expect(String((await sb.cli(['ps', '-aq'], { env })).stdout)).toBe('');
  });

  it('one environment entry past the kernel limit for a single string is refused at create', async () => {
    const file = join(sb.storage, 'one.env');
    writeFileSync(file, `BIG=${'y'.repeat(140_000)}\n`); // past what the CLI's own execve takes too
    const r = await sb.cli(['create', '--isolation', 'minimal', '--env-file', file, 'host', 'true'], { env });
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/at most 131071 bytes .* environment variable BIG/);
  });
});
