// The supervisor checked by machines: its tests against its AddressSanitizer+UBSan build (make
// native-sanitize) and its libFuzzer targets (make fuzz). Each runs as its make target does, its
// output kept here and shown only when it fails (the inner test run's summary must not be mistaken
// for this run's).
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ROOT, host } from './helpers.js';

const ci = process.env.CI === 'true';
const compiles = (cmd: string, args: string[]) =>
  execa(cmd, [...args, '-x', 'c', '-o', '/dev/null', '-'], { input: 'int main(void){return 0;}', reject: false }).then((r) => r.exitCode === 0);
const hasAsan = await compiles('clang', ['-fsanitize=address,undefined']).catch(() => false);
// the sanitizers' and libFuzzer's runtimes come with clang's runtime libraries (Debian: libclang-rt-dev)
const hasFuzzer = await compiles('clang', ['-fsanitize=fuzzer', '-Dmain=LLVMFuzzerTestOneInput']).catch(() => false);
const seconds = Number(process.env.CODEX32_FUZZ_SECONDS ?? 60);

const sanitizeSkip = ci ? undefined : !hasAsan ? 'clang cannot build with -fsanitize=address,undefined (scripts/test-setup.sh installs clang and libclang-rt-dev)' : !host.levels.standard.supported ? 'standard isolation unsupported' : undefined;
const fuzzSkip = ci ? undefined : hasFuzzer ? undefined : 'clang with libFuzzer is not installed (scripts/test-setup.sh installs clang and libclang-rt-dev)';

/** Run a command at the package root without the outer test run's own variables; its output whole. */
async function run(cmd: string, args: string[], env: Record<string, string> = {}) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST') && k !== 'TEST'));
  const r = await execa(cmd, args, { cwd: ROOT, all: true, reject: false, extendEnv: false, env: { ...clean, ...env } });
  return { code: r.exitCode, out: String(r.all ?? '') };
}

/** The end of a failed run's output, without the lines a reader of this run's summary would take as its own. */
const tail = (out: string) =>
  out
    .split('\n')
    .filter((l) => !/^\s*(Test Files|Tests|Duration|Start at)\s/.test(l))
    .slice(-120)
    .join('\n');

describe('the supervisor under AddressSanitizer and UndefinedBehaviorSanitizer', () => {
  it.skipIf(sanitizeSkip)('passes its tests with no sanitizer report (make native-sanitize)', async () => {
    const built = await run('make', ['-s', 'build/sanitize/codex32-shim']);
    expect(built.code, tail(built.out)).toBe(0);
    expect(existsSync(`${ROOT}/build/sanitize/codex32-shim`)).toBe(true);
    const r = await run('./scripts/native-sanitize.sh', []);
    expect(r.code, tail(r.out)).toBe(0);
    expect(r.out).toContain('native-sanitize: ok, no sanitizer finding');
  }, 40 * 60_000);
});

describe('the fuzz targets', () => {
  it.skipIf(fuzzSkip)(`run ${seconds} s each from their seeds without a finding (make fuzz)`, async () => {
    const r = await run('make', ['-s', 'fuzz', `FUZZ_SECONDS=${seconds}`]);
    expect(r.code, tail(r.out)).toBe(0);
    // one line per target, with real executions: a target that ran nothing would pass silently
    for (const t of ['spec', 'log', 'attach', 'archive', 'stamp']) {
      const line = r.out.split('\n').find((l) => l.startsWith(`fuzz ${t}: ok`));
      expect(line, r.out).toBeDefined();
      const runs = Number(/ok, (\d+) runs/.exec(line!)?.[1]);
      expect(runs).toBeGreaterThan(100);
      console.log(line);
    }
  }, 20 * 60_000);
});
