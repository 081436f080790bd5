// Starts one isolated Strata stack for the test run: a temporary state
// directory, free ports and a random JWT secret, so two runs never clash and
// nothing is hard-wired to the demo keys. Torn down when the run ends.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { denoCacheDir, PROJECT_ROOT } from '../../src/cli/project.ts';
import { startStack } from '../../src/dev/stack.ts';
import type { StackInfo } from '../../src/dev/state.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    stack: StackInfo;
  }
}

export default async function setup(project: TestProject) {
  const stateDir = await mkdtemp(path.join(tmpdir(), 'strata-test-'));
  const logs: string[] = [];
  const started = Date.now();
  let stack;
  try {
    stack = await startStack({
      projectRoot: PROJECT_ROOT,
      stateDir,
      jwtSecret: randomBytes(32).toString('hex'),
      denoDir: denoCacheDir(),
      log: (part, line) => {
        logs.push(`[${part}] ${line}`);
        if (process.env.STRATA_TEST_LOGS) process.stderr.write(`[${part}] ${line}\n`);
      },
    });
  } catch (error) {
    process.stderr.write(logs.slice(-80).join('\n') + '\n');
    await rm(stateDir, { recursive: true, force: true });
    throw error;
  }
  process.stderr.write(`strata test stack up in ${((Date.now() - started) / 1000).toFixed(1)} s (${stateDir})\n`);
  project.provide('stack', stack.info);

  return async () => {
    await stack.stop();
    await rm(stateDir, { recursive: true, force: true });
  };
}
