import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // generous on purpose: a test that passes in 10 s alone can take 60 s with both cores busy, and
    // CI runs on a shared machine; a test that hangs still fails, only later
    testTimeout: 180_000,
    hookTimeout: 180_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
