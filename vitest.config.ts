import { defineConfig } from 'vitest/config';

// CODEX32_TEST_SLOWDOWN: how much slower than this machine the tests run (the guest pass under TCG)
const slowdown = Math.max(1, Number(process.env.CODEX32_TEST_SLOWDOWN) || 1);
// files that load the whole machine on purpose (the soak's 20 clients and killed supervisors): they run
// alone, after the rest (`make test` runs both passes), so no other test's waits are measured under them
const alone = ['test/soak.test.ts'];
const aloneRun = process.env.CODEX32_TEST_ALONE === '1';

export default defineConfig({
  test: {
    include: aloneRun ? alone : ['src/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: aloneRun ? [] : alone,
    // generous on purpose: a test that passes in 10 s alone can take 60 s with both cores busy, and
    // CI runs on a shared machine; a test that hangs still fails, only later
    testTimeout: 180_000 * slowdown,
    hookTimeout: 180_000 * slowdown,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
