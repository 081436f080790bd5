import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // One isolated stack (temporary directories, free ports) for the whole run.
    globalSetup: ['tests/setup/stack.ts'],
    // After every test: nothing ever created has been lost.
    setupFiles: ['tests/setup/quiet.ts', 'tests/setup/invariant.ts'],
    // Files share the stack and some inject faults into it (S3 down, worker
    // killed), so they run one after another.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
