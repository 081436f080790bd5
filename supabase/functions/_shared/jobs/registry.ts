// What a job kind is to the worker: a handler living in its capability's
// folder (archive/, files/, analyses/, erasure/), registered in jobs/handlers.ts.
// The worker loop knows no kind by name; it gives each kind its own slots.
import type { S3Client } from '@aws-sdk/client-s3';
import type { S3Config } from '../config.ts';
import type { Sql } from '../db/client.ts';
import type { Budget } from './budget.ts';
import type { WorkerSettings } from './settings.ts';

export type ConfiguredS3 = Extract<S3Config, { configured: true }>;

/** A claimed job, as private.claim_jobs returns it. */
export interface ClaimedJob {
  job_id: string;
  kind: string;
  subject_id: string;
  user_id: string | null;
  attempts: number;
  max_attempts: number;
  /** Fixed when the job was queued (e.g. an archive generation, a key to delete), plus saved progress. */
  payload: Record<string, unknown> | null;
}

/** What a handler gets: the database, the object store and this invocation's worker id and budget. */
export interface JobContext {
  sql: Sql;
  s3: S3Client;
  s3Config: ConfiguredS3;
  settings: WorkerSettings;
  workerId: string;
  budget: Budget;
  log: (message: string) => void;
}

/**
 * done: finished (the handler recorded it in SQL); skipped: nothing left to do
 * (finished too); lost: another worker holds the job now; yielded: progress
 * saved in the job and the job given back, for the next invocation to continue.
 */
export type JobOutcome = 'done' | 'skipped' | 'lost' | 'yielded';

export interface JobHandler {
  kind: string;
  /** Jobs of this kind one worker runs at once: its own slots, never taken by another kind. */
  concurrency: number;
  /** Rough CPU milliseconds one job costs, so a worker stops claiming before its budget runs out. */
  cpuMs: number;
  run(ctx: JobContext, job: ClaimedJob): Promise<JobOutcome>;
}
