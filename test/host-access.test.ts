// What other local users and a container's volumes can reach of the host: closed directories, no host root.
import { execa } from 'execa';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { missing, sandbox, until } from './helpers.js';

const sb = sandbox();
const app = mkdtempSync(join(tmpdir(), 'c32-app-'));
afterAll(async () => {
  await sb.clean();
  rmSync(app, { recursive: true, force: true });
});
const { cli } = sb;

/** Run argv as the unprivileged user nobody (65534, no groups); returns its exit code and output. */
async function asNobody(argv: string[]) {
  const r = await execa('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups', ...argv], { reject: false });
  return { code: r.exitCode, out: `${r.stdout}${r.stderr}` };
}

const cases: Array<{ label: string; level: 'minimal' | 'standard' | 'strict'; extra: string[] }> = [
  { label: 'minimal', level: 'minimal', extra: [] },
  { label: 'minimal as 1000:1000', level: 'minimal', extra: ['-u', '1000:1000'] },
  { label: 'standard', level: 'standard', extra: [] },
  { label: 'standard as 1000:1000', level: 'standard', extra: ['-u', '1000:1000'] },
  { label: 'strict', level: 'strict', extra: [] },
];

describe('another local user', () => {
  writeFileSync(join(app, 'token'), 'tok-7f3a9\n', { mode: 0o644 });
  for (const c of cases) {
    const skip = missing({ standard: c.level !== 'minimal', strict: c.level === 'strict' });
    it.skipIf(!!skip)(`cannot read a ${c.label} container's app, state, spec or log${skip ? ` (skipped: ${skip})` : ''}`, async () => {
      const name = `closed-${c.label.replace(/[^a-z0-9]+/g, '-')}`;
      const r = await cli(['run', '-d', '--isolation', c.level, ...c.extra, '--name', name, '-e', 'SECRET=env-5e1c', `${app}/`, 'sh', '-c', 'cat ./token; sleep 30']);
      expect(r.stderr).toBe('');
      // the container itself still reads its own app
      await until(async () => String((await cli(['logs', name])).stdout).includes('tok-7f3a9'));
      const dir = join(sb.storage, 'containers', (await sb.inspect(name)).Id);
      for (const f of ['app/token', 'state', 'spec', 'container.log', 'etc/hostname']) {
        const got = await asNobody(['cat', join(dir, f)]);
        expect(got.out, f).toMatch(/Permission denied/);
        expect(got.code).not.toBe(0);
      }
      for (const d of [sb.storage, join(sb.storage, 'containers'), dir]) expect((await asNobody(['ls', d])).code, d).not.toBe(0);
      expect((await asNobody(['cat', join(sb.storage, 'state.db')])).code).not.toBe(0);
      expect(statSync(dir).mode & 0o007).toBe(0);
      // the supervisor's command line names only the run directory; the environment stays in the 0600 spec
      for (const p of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
        let cmd = '';
        try {
          cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8');
        } catch {
          continue;
        }
        expect(cmd).not.toContain('env-5e1c');
      }
      await cli(['rm', '-f', name]);
    });
  }
});

describe('a volume of the host root or the storage directory', () => {
  const skip = missing({ standard: true });
  const refused: Array<[string, () => string]> = [
    ['/', () => '/'],
    ['a symlink to /', () => {
      const l = join(app, 'rootlink');
      rmSync(l, { force: true });
      symlinkSync('/', l);
      return l;
    }],
    ['the storage directory', () => sb.storage],
    ['a parent of the storage directory', () => dirname(sb.storage)],
    ['a path inside the storage directory', () => join(sb.storage, 'containers')],
  ];
  for (const [what, source] of refused)
    it.skipIf(!!skip)(`refuses ${what} without --allow-host-root, and nothing is created`, async () => {
      const r = await cli(['create', '--name', 'hostroot', '-v', `${source()}:/h`, 'host', 'true']);
      expect(r.exitCode).toBe(125);
      expect(String(r.stderr)).toMatch(/Expected a volume source other than .*--allow-host-root/);
      expect((await cli(['ps', '-aq'])).stdout).toBe('');
    });

  it.skipIf(!!skip)('mounts / when --allow-host-root says so', async () => {
    mkdirSync(join(app, 'probe'), { recursive: true });
    const r = await cli(['run', '--rm', '--allow-host-root', '-v', '/:/h:ro', 'host', 'sh', '-c', `test -d /h${app}/probe && echo seen`]);
    expect(r.stdout).toBe('seen');
    expect(r.exitCode).toBe(0);
  });
});
