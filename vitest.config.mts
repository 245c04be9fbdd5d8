import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // The JSON report lets .ci/run print a one-line summary; the default reporter is for people.
    reporters: ['default', ['json', { outputFile: '.pmgrants/test-results.json' }]],
    pool: 'forks',
  },
});
