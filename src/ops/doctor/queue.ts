// The job queue's health: dead-lettered jobs waiting for someone, due jobs
// nobody takes (workers are not woken), and jobs still held by workers whose
// lease ran out long ago (the sweep is not reclaiming them). Read with the
// same report as `strata jobs status`.
import type { Sql } from '../../../supabase/functions/_shared/db/client.ts';
import { readJobStatus, type JobStatus } from '../../../supabase/functions/_shared/jobs/status.ts';
import { formatAge } from '../../cli/output.ts';
import { ok, warn, type Check } from './check.ts';

/** A due job waiting longer than this means the workers are not being woken. */
export const DUE_WARN_SECONDS = 300;
/** The sweep reclaims expired leases every few seconds; one expired longer than this is not being reclaimed. */
export const STALE_LEASE_SECONDS = 60;

export interface StaleLeases {
  count: number;
  /** Seconds since the oldest of them expired; null when there is none. */
  oldest_seconds: number | null;
}

export async function readStaleLeases(sql: Sql): Promise<StaleLeases> {
  const [row] = await sql<{ count: number; oldest_seconds: number | null }[]>`
    select count(*)::int as count, extract(epoch from now() - min(lease_until))::float8 as oldest_seconds
      from private.jobs
     where status = 'running' and lease_until < now() - make_interval(secs => ${STALE_LEASE_SECONDS})`;
  return { count: row!.count, oldest_seconds: row!.oldest_seconds };
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

export function queueChecks(status: JobStatus, stale: StaleLeases): Check[] {
  const { total } = status;
  const byKind = (count: (kind: JobStatus['kinds'][number]) => number) =>
    status.kinds.filter((kind) => count(kind) > 0).map((kind) => `${kind.kind} ${count(kind)}`).join(', ');

  const lastDead = status.kinds.flatMap((kind) => kind.errors).filter((error) => error.status === 'dead')
    .sort((a, b) => Date.parse(b.updated_at) - Date.parse(a.updated_at))[0];
  const dead = total.dead === 0
    ? ok('dead_jobs', 'no dead-lettered jobs')
    : warn(
        'dead_jobs',
        `${plural(total.dead, 'dead job')} (${byKind((kind) => kind.dead)})${lastDead ? `; latest error: ${lastDead.last_error.replace(/\s+/g, ' ').slice(0, 160)}` : ''}`,
        '"npx strata jobs status" lists their errors; once the cause is fixed, "npx strata archive retry" queues them again.',
      );

  const oldest = total.oldest_due_seconds;
  const due = oldest !== null && oldest > DUE_WARN_SECONDS
    ? warn(
        'due_jobs',
        `${plural(total.due, 'job')} due, the oldest for ${formatAge(oldest)} (${byKind((kind) => kind.due)}): workers are not being woken`,
        'See the pg_net, scheduled_jobs, vault_secrets and worker checks; meanwhile "npx strata archive work" drains the queue from here.',
      )
    : ok('due_jobs', total.due === 0 ? 'no job waiting' : `${plural(total.due, 'job')} due, the oldest for ${formatAge(oldest ?? 0)}`);

  const leases = stale.count > 0
    ? warn(
        'expired_leases',
        `${plural(stale.count, 'job')} still held by workers whose lease expired over ${STALE_LEASE_SECONDS} s ago (the oldest ${formatAge(stale.oldest_seconds ?? 0)} ago): the sweep is not reclaiming them`,
        'The sweep (strata-jobs-sweep) is not running: see the pg_cron and scheduled_jobs checks.',
      )
    : ok('expired_leases', total.expired_leases === 0 ? 'no expired lease' : `${plural(total.expired_leases, 'lease')} just expired (the sweep reclaims them within seconds)`);

  return [dead, due, leases];
}

export async function readQueueChecks(sql: Sql): Promise<Check[]> {
  const [status, stale] = await Promise.all([readJobStatus(sql), readStaleLeases(sql)]);
  return queueChecks(status, stale);
}
