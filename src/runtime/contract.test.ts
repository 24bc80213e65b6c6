// The contract between the engine and the supervisor: the C reads only declared keys, every declared key
// is read, the generated header is current, values are checked by form, and another version is refused.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CONTRACT_VERSION, encodeSpecEntries, RUN_FILES, spec, SPEC_KEYS, specEach } from './contract.js';
import { launchShim } from './shim-launch.js';

const root = join(import.meta.dirname, '../..');
const header = readFileSync(join(root, 'native/contract.h'), 'utf8');
// the supervisor's sources
const sources = readdirSync(join(root, 'native'))
  .filter((f) => f.endsWith('.c') || (f.endsWith('.h') && f !== 'contract.h'))
  .map((f) => ({ f, text: readFileSync(join(root, 'native', f), 'utf8') }));
const cText = sources.map((s) => s.text).join('\n');
/** SPEC_* and RUN_* constants of the header, to the key or file name each stands for. */
const defined = new Map([...header.matchAll(/^#define ((?:SPEC|RUN)_[A-Z0-9_]+) "([^"]+)"/gm)].map((m) => [m[1], m[2]]));
const constOf = (id: string) => id.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();

describe('the supervisor reads the declared contract', () => {
  it('names every spec key through a constant of the generated header, and only declared ones', () => {
    for (const { f, text } of sources) {
      expect(text.match(/\b(?:spec_get|spec_num|spec_all|override_entry|IS)\(\s*"[^"]*"/g) ?? [], `${f} reads a key by literal`).toEqual([]);
      for (const [use] of text.matchAll(/\bSPEC_[A-Z0-9_]+\b/g)) {
        expect(defined.has(use), `${f} uses ${use}, which the table does not declare`).toBe(true);
        expect(SPEC_KEYS).toHaveProperty([defined.get(use)!]);
      }
    }
  });

  it('reads every declared key, or the table says why the engine alone reads it', () => {
    const unread = Object.entries(SPEC_KEYS).filter(([key, d]) => !new RegExp(`\\bSPEC_${key.toUpperCase()}\\b`).test(cText) && !d.tsOnly);
    expect(unread.map(([k]) => k)).toEqual([]);
  });

  it('names the files it writes through the header, never by a literal', () => {
    const table = JSON.parse(readFileSync(join(import.meta.dirname, 'contract.json'), 'utf8')) as { files: Record<string, { writer: string; fromSpec?: string }> };
    for (const [id, f] of Object.entries(table.files)) {
      if (f.writer === 'supervisor' && !f.fromSpec) expect(cText, `RUN_${constOf(id)}`).toMatch(new RegExp(`\\bRUN_${constOf(id)}\\b`));
      expect(cText, `a literal ${RUN_FILES[id as keyof typeof RUN_FILES]}`).not.toContain(`"%s/${RUN_FILES[id as keyof typeof RUN_FILES]}`);
    }
  });

  it('builds from a header generated from the current table', () => {
    const r = spawnSync(process.execPath, [join(root, 'scripts/gen-contract.mjs'), '--print'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(header, 'native/contract.h is stale: run `make shim`').toBe(r.stdout);
    expect(header).toContain(`#define CONTRACT_VERSION ${CONTRACT_VERSION}\n`);
  });
});

describe('spec entries', () => {
  it('are rendered by form: integers, flags, bigints and fields', () => {
    expect([spec('uid', 1000), spec('tty', true), spec('health_restart', false), spec('caps', 1n << 40n), spec('rlimit', ['nofile', 64, 64])]).toEqual([
      'uid=1000', 'tty=1', 'health_restart=0', `caps=${2 ** 40}`, 'rlimit=nofile 64 64',
    ]);
    expect(specEach('arg', ['sh', '-c', 'echo a\necho b'])).toEqual(['arg=sh', 'arg=-c', 'arg=echo a\necho b']);
  });

  it('refuse a value that does not fit the key, with what was expected', () => {
    const refused = (fn: () => unknown, msg: RegExp) => expect(fn).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG', message: expect.stringMatching(msg) }));
    refused(() => spec('stop_timeout_ms', 1.5), /`stop_timeout_ms` to be an integer, got `1.5`/);
    refused(() => spec('restart', 'sometimes'), /`restart` to be one of no, on-failure, always, unless-stopped/);
    refused(() => spec('log', 'relative.log'), /`log` to be an absolute path/);
    refused(() => spec('bind', ['/a', 'b\tc', 'ro']), /`bind` to be fields without "\\t"/);
    refused(() => spec('bind', ['/a', '/b']), /`bind` to be 3 fields/);
    refused(() => spec('hostname', 'a\nb'), /no NUL bytes or stray newlines, got `hostname=a/);
    refused(() => spec('env', 'A=\0'), /no NUL bytes/);
  });

  it('take only declared keys, and never the contract entry, which the encoder writes first', () => {
    // @ts-expect-error an undeclared key is a type error
    expect(() => spec('mkdir', '/x')).toThrow(/not one a writer may use/);
    // @ts-expect-error the version is the encoder's alone
    expect(() => spec('contract', 2)).toThrow(/not one a writer may use/);
    expect(() => specEach('uid', [1, 2])).toThrow(/not declared repeated/);
    expect(encodeSpecEntries(['uid=1']).toString()).toBe(`contract=${CONTRACT_VERSION}\0uid=1\0`);
  });
});

describe('a spec of another version', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  const runDir = (entries: string[]) => {
    const dir = mkdtempSync(join(tmpdir(), 'c32-contract-'));
    dirs.push(dir);
    writeFileSync(join(dir, RUN_FILES.spec), entries.map((e) => e + '\0').join(''));
    return dir;
  };
  const shim = join(root, 'build/codex32-shim');
  const body = (dir: string) => ['isolation_level=0', `log=${dir}/${RUN_FILES.log}`, `cwd=${dir}`, 'arg=/bin/true'];

  it.skipIf(!existsSync(shim))('is refused by the supervisor: the failed start and shim.err say which versions, and nothing runs', async () => {
    const dir = runDir([]);
    writeFileSync(join(dir, RUN_FILES.spec), [`contract=${CONTRACT_VERSION + 1}`, ...body(dir)].map((e) => e + '\0').join(''));
    const r = await launchShim(dir);
    const want = `spec of contract version ${CONTRACT_VERSION + 1}, this supervisor reads ${CONTRACT_VERSION}`;
    expect(r).toMatchObject({ ok: false, exitCode: 125, message: expect.stringContaining(want) });
    expect(readFileSync(join(dir, RUN_FILES.shimErr), 'utf8')).toContain(want);
    expect(existsSync(join(dir, RUN_FILES.state)) || existsSync(join(dir, RUN_FILES.log))).toBe(false);
  });

  it.skipIf(!existsSync(shim))('is refused when it carries no version, and one of this version runs', () => {
    const old = runDir([]);
    writeFileSync(join(old, RUN_FILES.spec), body(old).map((e) => e + '\0').join(''));
    const r = spawnSync(shim, ['run', old], { encoding: 'utf8' });
    expect(r.status).toBe(125);
    expect(readFileSync(join(old, RUN_FILES.shimErr), 'utf8')).toMatch(/spec of contract version \(none\)/);
    const cur = runDir([]);
    writeFileSync(join(cur, RUN_FILES.spec), encodeSpecEntries(body(cur)));
    expect(spawnSync(shim, ['run', cur], { encoding: 'utf8' }).status).toBe(0);
    expect(readFileSync(join(cur, RUN_FILES.exits), 'utf8')).toMatch(/^1 \d+ \d+ 0 0 0 completed\n$/);
  });
});
