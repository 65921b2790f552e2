import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    // Builds dist/ when it is older than the sources: the CLI the tests drive runs dist/.
    globalSetup: ['./test/helpers/build-before-tests.ts'],
    setupFiles: ['./test/helpers/every-test-asserts.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Suites start servers and child processes; two cores: keep parallelism modest.
    maxWorkers: 2,
    minWorkers: 1,
    passWithNoTests: false,
    // Short retry backoff so fault tests stay quick; the policy itself is unchanged.
    env: { MIRROR_RETRY_BASE_MS: '20' },
  },
});
