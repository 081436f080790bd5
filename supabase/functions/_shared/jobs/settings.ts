// Job worker settings from the environment, with safe defaults.
import type { EnvGetter } from '../config.ts';

export interface ArchiveSettings {
  /** Jobs claimed per round. */
  batchSize: number;
  /** Conversations archived at once by one worker. */
  concurrency: number;
  /** How long a claim holds before another worker may take the job. */
  leaseSeconds: number;
  /** First retry delay; doubles per attempt (capped at an hour). */
  backoffBaseSeconds: number;
  /** How long one invocation keeps claiming before it returns. */
  budgetMs: number;
  /** Above this estimated JSON size a conversation is streamed in two passes with a multipart upload. */
  streamAboveBytes: number;
  /** Multipart part size. */
  partBytes: number;
  /** Background drains one function instance runs at once (each is a worker). */
  maxDrains: number;
  /** Files one drain processes at once: extraction holds whole documents in memory (Edge Functions have 256 MB). */
  processConcurrency: number;
}

function readInt(env: EnvGetter, name: string, fallback: number, min: number, max: number): number {
  const raw = env(name);
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  return Number.isFinite(value) ? Math.min(max, Math.max(min, Math.floor(value))) : fallback;
}

export function readArchiveSettings(env: EnvGetter): ArchiveSettings {
  return {
    batchSize: readInt(env, 'ARCHIVE_BATCH_SIZE', 50, 1, 1000),
    concurrency: readInt(env, 'ARCHIVE_CONCURRENCY', 8, 1, 64),
    leaseSeconds: readInt(env, 'ARCHIVE_LEASE_SECONDS', 120, 2, 3600),
    backoffBaseSeconds: readInt(env, 'ARCHIVE_BACKOFF_BASE_SECONDS', 5, 0, 3600),
    budgetMs: readInt(env, 'ARCHIVE_BUDGET_SECONDS', 50, 1, 3600) * 1000,
    streamAboveBytes: readInt(env, 'ARCHIVE_STREAM_ABOVE_BYTES', 8 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    partBytes: readInt(env, 'ARCHIVE_PART_BYTES', 8 * 1024 * 1024, 5 * 1024 * 1024, 512 * 1024 * 1024),
    maxDrains: readInt(env, 'ARCHIVE_MAX_DRAINS', 4, 1, 32),
    processConcurrency: readInt(env, 'FILES_PROCESS_CONCURRENCY', 2, 1, 32),
  };
}
