// Settings of the job worker (every kind), from the environment, with
// defaults sized for one hosted Edge Function invocation. Kind-specific
// settings live with their kind (archive/settings.ts, files/settings.ts).
import type { EnvGetter } from '../config.ts';
import { readInt } from '../settings.ts';

export interface WorkerSettings {
  /** How long a claim holds before another worker may take the job. */
  leaseSeconds: number;
  /** First retry delay; doubles per attempt (capped at an hour). */
  backoffBaseSeconds: number;
  /** CPU one invocation may spend before it stops claiming (hosted soft limit: about 1 s per instance). */
  cpuBudgetMs: number;
  /** How long one invocation keeps claiming (hosted wall clock: 150 s, or 400 s on paid plans). */
  wallBudgetMs: number;
  /** Heap + external memory above which an invocation stops claiming (hosted: 256 MB, retiring at half). */
  memoryBudgetBytes: number;
  /** Background drains one function instance runs at once (each is a worker). */
  maxDrains: number;
  /** Database connections of one worker instance (serverless: a handful). */
  dbPoolSize: number;
}

export function readWorkerSettings(env: EnvGetter): WorkerSettings {
  return {
    leaseSeconds: readInt(env, 'ARCHIVE_LEASE_SECONDS', 120, 2, 3600),
    backoffBaseSeconds: readInt(env, 'ARCHIVE_BACKOFF_BASE_SECONDS', 5, 0, 3600),
    cpuBudgetMs: readInt(env, 'WORKER_CPU_BUDGET_MS', 600, 10, 3_600_000),
    wallBudgetMs: readInt(env, 'ARCHIVE_BUDGET_SECONDS', 50, 1, 3600) * 1000,
    memoryBudgetBytes: readInt(env, 'WORKER_MEMORY_BUDGET_MB', 96, 16, 64 * 1024) * 1024 * 1024,
    maxDrains: readInt(env, 'ARCHIVE_MAX_DRAINS', 2, 1, 32),
    dbPoolSize: readInt(env, 'WORKER_DB_POOL_SIZE', 4, 1, 50),
  };
}
