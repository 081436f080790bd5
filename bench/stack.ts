// How every benchmark starts its isolated Strata stack (temporary state
// directory, free ports, random JWT secret), keeps its last log lines for a
// failure report, and stops it: once, in reverse order, on success, failure,
// Ctrl-C or SIGTERM.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { denoCacheDir, PROJECT_ROOT } from '../src/cli/project.ts';
import { startRelay } from '../src/dev/relay.ts';
import { startScheduler } from '../src/dev/scheduler.ts';
import { startStack, type Part, type Stack } from '../src/dev/stack.ts';
import type { StackInfo } from '../src/dev/state.ts';
import { progress, stopOnSignals } from './common.ts';

export interface BenchStackOptions {
  /** Names the state directory: strata-bench-<name>-XXXXXX in the system's temporary directory. */
  name: string;
  /** Extra environment for the functions process. */
  functionEnv?: Record<string, string>;
  /** Sees every line the stack logs (after it is kept for the failure report). */
  onLog?: (part: Part, line: string) => void;
}

export interface BenchStack {
  stack: Stack;
  info: StackInfo;
  stateDir: string;
  /** The last 400 lines the stack logged. */
  logs: string[];
  /** A postgres.js pool on the stack's database as postgres, like the functions (notices ignored), ended at shutdown. */
  postgres(options: postgres.Options<Record<string, postgres.PostgresType>>): postgres.Sql;
  /** The same as supabase_admin, the superuser: for the harness's own set-up (ALTER SYSTEM, bulk loads, policy switches). */
  adminPostgres(options: postgres.Options<Record<string, postgres.PostgresType>>): postgres.Sql;
  /** Runs `stop` at shutdown, before the stack stops; the last registered runs first. */
  onShutdown(stop: () => unknown): void;
  /** Stops the pg_net relay and the scheduler: wake-ups wait in the pg_net queue, no sweep runs. */
  pauseBackground(): Promise<void>;
  /** Starts a new relay and scheduler (stopped at shutdown): the held wake-ups are sent. */
  resumeBackground(): Promise<void>;
  /** Writes the error and the stack's last log lines to stderr and sets the exit code to 1. */
  fail(label: string, error: unknown): void;
  /** Ends the pools, stops what was registered and the stack, removes the state directory. Once. */
  shutdown(): Promise<void>;
}

const KEPT_LOG_LINES = 400;

/**
 * Starts the stack. Set BENCH_LOGS=1 to also see its log lines on stderr.
 * When the stack does not come up, everything started is stopped and the
 * error thrown carries the last log lines.
 */
export async function startBenchStack(options: BenchStackOptions): Promise<BenchStack> {
  const stateDir = await mkdtemp(path.join(tmpdir(), `strata-bench-${options.name}-`));
  const logs: string[] = [];
  const log = (part: Part, line: string) => {
    logs.push(`[${part}] ${line}`);
    if (logs.length > KEPT_LOG_LINES) logs.shift();
    if (process.env.BENCH_LOGS) process.stderr.write(`[${part}] ${line}\n`);
    options.onLog?.(part, line);
  };
  const stops: Array<() => unknown> = [];
  let stack: Stack | null = null;
  let shutdownDone: Promise<void> | null = null;

  const shutdown = () =>
    (shutdownDone ??= (async () => {
      for (const stop of stops.splice(0).reverse()) await Promise.resolve().then(stop).catch(() => undefined);
      if (stack) {
        const running = stack;
        stack = null;
        progress('stopping the stack');
        await running.stop();
      }
      await rm(stateDir, { recursive: true, force: true }).catch(() => undefined);
    })());
  stopOnSignals(shutdown);

  progress(`starting an isolated stack in ${stateDir}`);
  try {
    stack = await startStack({
      projectRoot: PROJECT_ROOT,
      stateDir,
      jwtSecret: randomBytes(32).toString('hex'),
      denoDir: denoCacheDir(),
      functionEnv: options.functionEnv,
      log,
    });
  } catch (error) {
    await shutdown();
    throw new Error(`the benchmark's stack did not start: ${(error as Error).message}\nlast stack log lines:\n${logs.slice(-40).join('\n')}`, {
      cause: error,
    });
  }
  const running = stack;
  const info = running.info;

  return {
    stack: running,
    info,
    stateDir,
    logs,
    postgres(poolOptions) {
      const pool = postgres(info.dbUrl, { onnotice: () => {}, ...poolOptions });
      stops.push(() => pool.end({ timeout: 5 }));
      return pool;
    },
    adminPostgres(poolOptions) {
      const pool = postgres(info.adminDbUrl, { onnotice: () => {}, ...poolOptions });
      stops.push(() => pool.end({ timeout: 5 }));
      return pool;
    },
    onShutdown(stop) {
      stops.push(stop);
    },
    async pauseBackground() {
      await running.parts.relay.stop();
      await running.parts.scheduler.stop();
    },
    async resumeBackground() {
      const relay = await startRelay({ adminDbUrl: info.adminDbUrl, log: (line) => log('relay', line) });
      stops.push(relay.stop);
      const scheduler = await startScheduler({ dbUrl: info.dbUrl, log: (line) => log('scheduler', line) });
      stops.push(scheduler.stop);
    },
    fail(label, error) {
      process.stderr.write(`\n${label}: ${(error as Error).stack ?? String(error)}\n`);
      if (logs.length) process.stderr.write(`last stack log lines:\n${logs.slice(-40).join('\n')}\n`);
      process.exitCode = 1;
    },
    shutdown,
  };
}
