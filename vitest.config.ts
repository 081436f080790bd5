import { configDefaults, defineConfig } from 'vitest/config';

// Two projects. `vitest run` (npm test) runs both; `--project unit` (npm run
// test:unit) runs the pure logic alone, in seconds, with no stack.
export default defineConfig({
  test: {
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: {
          // Pure logic: no database, no S3, no Deno; files run in parallel.
          name: 'unit',
          include: ['tests/unit/**/*.test.ts'],
          setupFiles: ['tests/setup/quiet.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['tests/**/*.test.ts'],
          exclude: [...configDefaults.exclude, 'tests/unit/**'],
          // One isolated stack (temporary directories, free ports) for the whole run.
          // Only this project has it, so a unit-only run never starts one.
          globalSetup: ['tests/setup/stack.ts'],
          // After every test: nothing ever created has been lost.
          setupFiles: ['tests/setup/quiet.ts', 'tests/setup/invariant.ts'],
          // Files share the stack and some inject faults into it (S3 down, worker
          // killed), so they run one after another (after the unit files).
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
