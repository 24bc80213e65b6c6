// Read-only is recursive: a mount below a :ro volume's host source is read-only inside the container too,
// through mount_setattr(AT_RECURSIVE) and through the remount of each submount that older kernels get.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missing, sandbox } from './helpers.js';

const sb = sandbox('c32-romounts-');
const root = process.getuid?.() === 0 ? undefined : 'mounting a tmpfs on the host needs root';
const src = mkdtempSync(join(tmpdir(), 'c32-rovol-'));
const sub = join(src, 'sub');
let mounted = false;

beforeAll(() => {
  if (root) return;
  chmodSync(src, 0o777); // strict's root is an unprivileged host uid: EROFS must be what stops it, not EACCES
  mkdirSync(sub);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=1777', 'tmpfs', sub]);
  mounted = true;
});
afterAll(async () => {
  if (mounted) execFileSync('umount', [sub]);
  rmSync(src, { recursive: true, force: true });
  await sb.clean();
});

const SCRIPT = 'touch /data/sub/x 2>&1; touch /data/y 2>&1; grep " /data/sub " /proc/self/mountinfo | cut -d" " -f6';

for (const level of ['standard', 'strict'] as const) {
  for (const fallback of [false, true]) {
    const how = fallback ? 'remounting each submount (no mount_setattr)' : 'mount_setattr AT_RECURSIVE';
    const skip = root ?? missing({ [level]: true });
    describe.skipIf(!!skip)(`${level}, ${how}`, () => {
      const env = { ...sb.env, CODEX32_NATIVE: '0', ...(fallback ? { CODEX32_NO_MOUNT_SETATTR: '1' } : {}) };

      it('a tmpfs mounted below a :ro volume source is read-only inside', async () => {
        const r = await sb.cli(['run', '--rm', '--isolation', level, '-v', `${src}:/data:ro`, 'host', 'sh', '-c', SCRIPT], { env });
        expect(r.exitCode).toBe(0);
        const out = String(r.stdout);
        expect(out).toContain("touch: cannot touch '/data/sub/x': Read-only file system");
        expect(out).toContain("touch: cannot touch '/data/y': Read-only file system");
        expect(out).toMatch(/^ro,/m); // the submount's own options
        expect(existsSync(join(sub, 'x'))).toBe(false);
      });

      it('the same submount stays writable through a :rw volume', async () => {
        const r = await sb.cli(['run', '--rm', '--isolation', level, '-v', `${src}:/data`, 'host', 'sh', '-c', 'touch /data/sub/w && echo wrote'], { env });
        expect(String(r.stdout)).toBe('wrote');
        expect(existsSync(join(sub, 'w'))).toBe(true);
        rmSync(join(sub, 'w'));
      });
    });
  }
}
