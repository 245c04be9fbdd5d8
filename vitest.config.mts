import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
    // End-to-end suites share one PostgreSQL server per file; files run in parallel on both cores.
    pool: 'forks',
  },
});
