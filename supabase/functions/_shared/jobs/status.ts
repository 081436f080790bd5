// The state of the durable job queue (private.jobs), per kind and in total:
// what is due now, what is backing off, what is running (and whose lease has
// expired), what is dead, what finished in the last hour, and the last
// errors. Read by `strata jobs status` and the service-only status route.
//
// Every part reads through a partial index, so the cost follows the live
// queue and the last hour's history, never the whole done history:
// pending -> jobs_due_idx (kind, run_after), running -> jobs_lease_idx,
// dead -> jobs_one_live_per_subject, done -> jobs_finished_at_idx.
import type { Sql } from '../db/client.ts';

/** The queue counts of one kind, or of all kinds together. */
export interface JobCounts {
  /** Pending jobs whose run_after has come: a worker should take them now. */
  due: number;
  /** Pending jobs with run_after in the future: retries backing off. */
  scheduled: number;
  /** Jobs a worker holds. */
  running: number;
  /** Running jobs whose lease has expired: their worker is gone or stuck; the sweep reclaims them. */
  expired_leases: number;
  /** Dead-lettered jobs, kept until retried (`strata archive retry`) or removed. */
  dead: number;
  /** Seconds the longest-waiting due job has been due (now - run_after); null when none is due. */
  oldest_due_seconds: number | null;
  /** Jobs finished in the last hour. */
  done_last_hour: number;
}

/** A job carrying the error of its last failed attempt. */
export interface JobError {
  id: number;
  kind: string;
  subject_id: string;
  /** pending (backing off), running (trying again) or dead. */
  status: 'pending' | 'running' | 'dead';
  attempts: number;
  max_attempts: number;
  last_error: string;
  /** ISO 8601. */
  updated_at: string;
}

export interface JobKindStatus extends JobCounts {
  kind: string;
  /** The most recent errors of this kind, newest first (at most ERRORS_PER_KIND). */
  errors: JobError[];
}

export interface JobStatus {
  /** The database's time of the reading, ISO 8601. */
  at: string;
  /** Every registered kind (private.job_kinds), by name; a quiet kind has zeros. */
  kinds: JobKindStatus[];
  total: JobCounts;
}

export const ERRORS_PER_KIND = 5;

const EMPTY_COUNTS: JobCounts = { due: 0, scheduled: 0, running: 0, expired_leases: 0, dead: 0, oldest_due_seconds: null, done_last_hour: 0 };

type CountsRow = JobCounts & { kind: string | null; at: Date };
type ErrorRow = Omit<JobError, 'id' | 'updated_at'> & { id: string | number; updated_at: Date };

/**
 * Per registered kind, plus the total row (kind null). One branch per
 * status, each matching a partial index's predicate; joined to
 * private.job_kinds so that a quiet kind shows as zeros.
 */
export const JOB_COUNTS_SQL = `
  with queue as (
    select kind, status, run_after, null::timestamptz as lease_until
      from private.jobs where status = 'pending'
    union all
    select kind, status, null, lease_until
      from private.jobs where status = 'running'
    union all
    select kind, status, null, null
      from private.jobs where status = 'dead'
    union all
    select kind, status, null, null
      from private.jobs where status = 'done' and finished_at >= now() - interval '1 hour'
  )
  select k.kind,
         now() as at,
         count(*) filter (where q.status = 'pending' and q.run_after <= now())::int as due,
         count(*) filter (where q.status = 'pending' and q.run_after > now())::int as scheduled,
         count(*) filter (where q.status = 'running')::int as running,
         count(*) filter (where q.status = 'running' and q.lease_until < now())::int as expired_leases,
         count(*) filter (where q.status = 'dead')::int as dead,
         extract(epoch from now() - min(q.run_after) filter (where q.status = 'pending' and q.run_after <= now()))::float8
           as oldest_due_seconds,
         count(*) filter (where q.status = 'done')::int as done_last_hour
    from private.job_kinds k
    left join queue q on q.kind = k.kind
   group by grouping sets ((k.kind), ())
   order by k.kind nulls last`;

/**
 * The last errors of each kind, newest first. Done jobs are left out: their
 * last_error may be stale, and reading them would scan the whole history.
 */
export const JOB_ERRORS_SQL = `
  select id, kind, subject_id, status, attempts, max_attempts, last_error, updated_at
    from (select id, kind, subject_id, status, attempts, max_attempts, last_error, updated_at,
                 row_number() over (partition by kind order by updated_at desc, id desc) as n
            from private.jobs
           where status in ('pending', 'running', 'dead') and last_error is not null) e
   where n <= ${ERRORS_PER_KIND}
   order by kind, updated_at desc, id desc`;

/**
 * Reads the queue's state in one read-only snapshot (the two statements
 * above, the same now()). Needs a connection that may read private.jobs and
 * private.job_kinds (SUPABASE_DB_URL's role).
 */
export async function readJobStatus(sql: Sql): Promise<JobStatus> {
  const [counts, errors] = await sql.begin('isolation level repeatable read read only', async (tx) => {
    // Constant text, no parameters: unsafe only skips the tagged template.
    const counts = (await tx.unsafe(JOB_COUNTS_SQL)) as unknown as CountsRow[];
    const errors = (await tx.unsafe(JOB_ERRORS_SQL)) as unknown as ErrorRow[];
    return [counts, errors] as const;
  });

  const toCounts = (row: CountsRow): JobCounts => ({
    due: row.due,
    scheduled: row.scheduled,
    running: row.running,
    expired_leases: row.expired_leases,
    dead: row.dead,
    oldest_due_seconds: row.oldest_due_seconds === null ? null : Math.max(0, row.oldest_due_seconds),
    done_last_hour: row.done_last_hour,
  });
  const totalRow = counts.find((row) => row.kind === null);
  const kinds = counts
    .filter((row): row is CountsRow & { kind: string } => row.kind !== null)
    .map((row) => ({
      kind: row.kind,
      ...toCounts(row),
      errors: errors
        .filter((error) => error.kind === row.kind)
        .map((error) => ({ ...error, id: Number(error.id), updated_at: error.updated_at.toISOString() })),
    }));
  // The empty grouping set yields the total row even for an empty table.
  return { at: (totalRow?.at ?? new Date()).toISOString(), kinds, total: totalRow ? toCounts(totalRow) : { ...EMPTY_COUNTS } };
}
