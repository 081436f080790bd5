// The job worker (the archive-worker function, or `strata archive work`):
// claims due jobs from private.jobs and runs each with its kind's handler
// (jobs/handlers.ts). It knows no kind by name. Every kind has its own slots
// (its handler's concurrency), so a flood of one kind never holds back
// another: each kind's jobs wait only for that kind's earlier jobs.
// Any number of workers may run at once (FOR UPDATE SKIP LOCKED, leases).
// An invocation stops claiming before its CPU, wall-clock or memory budget
// is spent and finishes what it holds; the function then wakes the next
// invocation while work is due (jobs/handler.ts). Once the runtime says the
// instance is about to go (beforeunload: `stop` is aborted) it claims
// nothing more, and gives back what a claim brings in after that moment. Failures back off and dead-letter in SQL; nothing is deleted unless
// S3 acknowledged.
import type { S3Client } from '@aws-sdk/client-s3';
import type { S3Config } from '../config.ts';
import type { Sql } from '../db/client.ts';
import { describeS3Error } from '../s3/objects.ts';
import { startBudget, type Budget, type BudgetLimits, type StopReason } from './budget.ts';
import type { ClaimedJob, JobContext, JobHandler } from './registry.ts';
import type { WorkerSettings } from './settings.ts';

export interface WorkerDeps {
  sql: Sql;
  s3: S3Client | null;
  s3Config: S3Config;
  settings: WorkerSettings;
  handlers: JobHandler[];
  workerId: string;
  log: (message: string) => void;
  /** Called after each claimed and each finished job with the summary so far (`strata archive work` shows it). */
  onProgress?: (summary: Readonly<DrainSummary>) => void;
  /** Aborted when the instance is about to be stopped (beforeunload): claim nothing more. */
  stop?: AbortSignal;
}

export interface KindSummary {
  claimed: number;
  done: number;
  skipped: number;
  lost: number;
  released: number;
  retrying: number;
  dead: number;
}

export interface DrainSummary extends KindSummary {
  worker: string;
  by_kind: Record<string, KindSummary>;
  /** Why the invocation stopped claiming: nothing due, a budget, or the instance about to be stopped ('unload'). */
  stopped_by: 'idle' | StopReason;
  cpu_ms: number;
  wall_ms: number;
  peak_memory_mb: number;
  /** Set when the worker could not run at all (e.g. S3 not configured). */
  idle_reason?: string;
}

const emptyKind = (): KindSummary => ({ claimed: 0, done: 0, skipped: 0, lost: 0, released: 0, retrying: 0, dead: 0 });

/** A short description of a failure for the job's last_error: never credentials, bodies or stack traces. */
export function describeJobError(error: unknown): string {
  if ((error as { $metadata?: unknown }).$metadata !== undefined) return describeS3Error('request', error);
  const code = (error as { code?: string }).code;
  if (code && /^E[A-Z]+$/.test(code)) return `S3 unreachable: ${code}`;
  if (code && /^[0-9A-Z]{5}$/.test(code)) return `database error ${code}`;
  const name = (error as { name?: string }).name;
  if (name === 'TimeoutError' || name === 'AbortError') return 'S3 request timed out';
  return `job failed: ${(error as Error).message ?? String(error)}`.slice(0, 300);
}

/** Claims and runs jobs until none is due or the budget is spent. */
export async function drainJobs(deps: WorkerDeps, limits: Partial<BudgetLimits> = {}): Promise<DrainSummary> {
  const { sql, settings, workerId, log, handlers } = deps;
  const started = Date.now();
  const budget: Budget = startBudget({
    cpuMs: limits.cpuMs ?? settings.cpuBudgetMs,
    wallMs: limits.wallMs ?? settings.wallBudgetMs,
    memoryBytes: limits.memoryBytes ?? settings.memoryBudgetBytes,
  });
  const summary: DrainSummary = {
    worker: workerId, ...emptyKind(), by_kind: {}, stopped_by: 'idle', cpu_ms: 0, wall_ms: 0, peak_memory_mb: 0,
  };
  const count = (kind: string, field: keyof KindSummary) => {
    summary[field]++;
    (summary.by_kind[kind] ??= emptyKind())[field]++;
    try {
      deps.onProgress?.(summary);
    } catch {
      // Showing progress never fails a job.
    }
  };
  const finish = () => {
    summary.cpu_ms = Math.round(budget.cpuUsedMs());
    summary.wall_ms = Date.now() - started;
    summary.peak_memory_mb = Math.round(budget.peakMemoryBytes() / 1048576);
    return summary;
  };
  if (!deps.s3Config.configured || !deps.s3) {
    // Jobs wait in the table; nothing is deleted until S3 is configured.
    summary.idle_reason = deps.s3Config.configured ? 'S3 is not available.' : deps.s3Config.problem;
    return finish();
  }
  const unloading = () => {
    if (!deps.stop?.aborted) return false;
    budget.stop('unload');
    return true;
  };
  const ctx: JobContext = { sql, s3: deps.s3, s3Config: deps.s3Config, settings, workerId, budget, log };
  const byKind = new Map(handlers.map((h) => [h.kind, h]));
  const busy = new Map<string, number>(handlers.map((h) => [h.kind, 0]));
  // Kinds that had nothing more due at their last claim; asked again after a pause.
  const drained = new Map<string, number>();
  const inFlight = new Set<Promise<void>>();

  const fail = async (job: ClaimedJob, error: unknown) => {
    const message = describeJobError(error);
    const [{ status }] = await sql<{ status: string }[]>`
      select private.fail_job(${job.job_id}, ${workerId}, ${message}, ${settings.backoffBaseSeconds}) as status`;
    count(job.kind, status === 'dead' ? 'dead' : status === 'pending' ? 'retrying' : 'lost');
    log(`job ${job.job_id} ${job.kind} (${job.subject_id}) attempt ${job.attempts}/${job.max_attempts} failed: ${message} → ${status}`);
  };
  const run = (job: ClaimedJob) => {
    const handler = byKind.get(job.kind)!;
    busy.set(job.kind, busy.get(job.kind)! + 1);
    const task = (async () => {
      try {
        const outcome = await handler.run(ctx, job);
        count(job.kind, outcome === 'yielded' ? 'released' : outcome);
      } catch (error) {
        // One failure to record a failure never stops the others.
        await fail(job, error).catch((e) => log(`could not record the failure of job ${job.job_id}: ${describeJobError(e)}`));
      }
    })().finally(() => {
      busy.set(job.kind, busy.get(job.kind)! - 1);
      inFlight.delete(task);
    });
    inFlight.add(task);
  };

  for (;;) {
    const now = Date.now();
    const wanted: Record<string, number> = {};
    let estimate = 0;
    for (const handler of handlers) {
      const free = handler.concurrency - busy.get(handler.kind)!;
      if (free <= 0 || (drained.get(handler.kind) ?? 0) > now) continue;
      wanted[handler.kind] = free;
      estimate += free * handler.cpuMs;
    }
    // Stop claiming before the budget could be overrun by what a claim would bring.
    if (Object.keys(wanted).length > 0 && !unloading() && budget.fits(estimate)) {
      let claimed: ClaimedJob[] = [];
      try {
        claimed = await sql<ClaimedJob[]>`
          select job_id, kind, subject_id, user_id, attempts, max_attempts, payload
            from private.claim_jobs(${workerId}, ${sql.json(wanted)}, ${settings.leaseSeconds})`;
      } catch (error) {
        log(`claim failed: ${describeJobError(error)}`);
        if (inFlight.size === 0) break;
      }
      // beforeunload came while the claim ran (its release_jobs may have run
      // before the claim committed) or while these start: give the rest back unstarted.
      const got = new Map<string, number>();
      const giveBack: ClaimedJob[] = [];
      for (const job of claimed) {
        got.set(job.kind, (got.get(job.kind) ?? 0) + 1);
        count(job.kind, 'claimed');
        if (unloading()) giveBack.push(job);
        else run(job);
      }
      if (giveBack.length > 0) {
        const ids = giveBack.map((job) => job.job_id);
        await sql`select private.release_jobs(${workerId}, ${ids}::bigint[])`.catch((error) =>
          log(`could not give back ${ids.length} job(s) claimed as the instance was stopping: ${describeJobError(error)}`));
        for (const job of giveBack) count(job.kind, 'released');
      }
      // A kind with nothing due is asked again shortly (an empty claim costs
      // well under a millisecond): new work of it waits at most that long.
      for (const kind of Object.keys(wanted)) {
        if ((got.get(kind) ?? 0) < wanted[kind]!) drained.set(kind, now + 200);
      }
    }
    if (inFlight.size === 0) {
      if (budget.stoppedBy) break;
      // Nothing running: stop once every kind had nothing due at its last claim.
      const waiting = handlers.filter((h) => (drained.get(h.kind) ?? 0) > Date.now());
      if (waiting.length === handlers.length) break;
      continue;
    }
    await Promise.race([...inFlight, new Promise((resolve) => setTimeout(resolve, 250))]);
    unloading();
  }
  await Promise.all(inFlight);
  if (budget.stoppedBy) summary.stopped_by = budget.stoppedBy;
  return finish();
}
