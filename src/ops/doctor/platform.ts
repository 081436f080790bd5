// The platform Strata's queue relies on: pg_net (wake-ups), pg_cron (the
// sweep, expiry, pruning) and the cron jobs themselves. Read from the
// catalogs only (no schema privileges needed), so the checks say what is
// missing rather than failing on a permission.
//
// The local stack has neither extension: its platform SQL defines
// net.http_post with pg_net's signature (a relay sends the requests) and its
// scheduler runs private.scheduled_jobs. That is recognised by what exists,
// not by how it is built: net.http_post without the pg_net extension.
import type { Sql } from '../../../supabase/functions/_shared/db/client.ts';
import { parseSchedule } from '../../dev/cron.ts';
import { fail, ok, warn, type Check } from './check.ts';

export interface PlatformFacts {
  pgNet: { version: string | null; available: boolean; httpPost: boolean };
  pgCron: { version: string | null; available: boolean };
}

export async function readPlatformFacts(sql: Sql): Promise<PlatformFacts> {
  const [row] = await sql<{
    pg_net_version: string | null; pg_net_available: boolean; http_post: boolean;
    pg_cron_version: string | null; pg_cron_available: boolean;
  }[]>`
    select (select extversion from pg_extension where extname = 'pg_net') as pg_net_version,
           exists (select 1 from pg_available_extensions where name = 'pg_net') as pg_net_available,
           -- The exact signature private.wake_workers calls.
           exists (select 1 from pg_proc p join pg_namespace n on n.oid = p.pronamespace
                    where n.nspname = 'net' and p.proname = 'http_post'
                      and oidvectortypes(p.proargtypes) = 'text, jsonb, jsonb, jsonb, integer') as http_post,
           (select extversion from pg_extension where extname = 'pg_cron') as pg_cron_version,
           exists (select 1 from pg_available_extensions where name = 'pg_cron') as pg_cron_available`;
  return {
    pgNet: { version: row!.pg_net_version, available: row!.pg_net_available, httpPost: row!.http_post },
    pgCron: { version: row!.pg_cron_version, available: row!.pg_cron_available },
  };
}

/** The local stack's stand-ins are in place: net.http_post exists without the pg_net extension. */
export const hasNetStandIn = (facts: PlatformFacts) => facts.pgNet.httpPost && facts.pgNet.version === null;

/** pg_cron runs 'N seconds' schedules from 1.5 on. */
export function cronSupportsSeconds(version: string): boolean {
  const [major = 0, minor = 0] = version.split('.').map((part) => Number.parseInt(part, 10) || 0);
  return major > 1 || (major === 1 && minor >= 5);
}

const ENABLE_HINT = 'Dashboard → Database → Extensions';

export function pgNetCheck(facts: PlatformFacts, local: boolean): Check {
  const { version, available, httpPost } = facts.pgNet;
  if (version !== null) {
    return httpPost
      ? ok('pg_net', `pg_net ${version}: the database wakes the worker after each change`)
      : fail('pg_net', `pg_net ${version} has no net.http_post(url, body, params, headers, timeout): wake-ups cannot be sent`, 'Update it: alter extension pg_net update;');
  }
  if (httpPost) {
    return local
      ? ok('pg_net', 'emulated: the local stack\'s net schema stand-in (net.http_post; its relay sends the requests after commit)')
      : warn('pg_net', 'net.http_post exists without the pg_net extension (a stand-in): wake-ups go wherever it sends them', `Enable the real extension (${ENABLE_HINT}).`);
  }
  return fail(
    'pg_net',
    available
      ? 'pg_net is available but not enabled: nothing wakes the worker (neither changes nor the sweep)'
      : 'pg_net is not available on this server: nothing wakes the worker (neither changes nor the sweep)',
    available
      ? `create extension pg_net with schema extensions; (or ${ENABLE_HINT}). Until then, "npx strata archive work" drains the queue by hand.`
      : 'Use a Postgres with pg_net (every Supabase project has it). Until then, "npx strata archive work" drains the queue by hand.',
  );
}

export function pgCronCheck(facts: PlatformFacts, local: boolean): Check {
  const { version, available } = facts.pgCron;
  if (version !== null) {
    return cronSupportsSeconds(version)
      ? ok('pg_cron', `pg_cron ${version}: sub-minute schedules (the sweep every few seconds)`)
      : warn(
          'pg_cron',
          `pg_cron ${version} is older than 1.5: no sub-minute schedules, so 'N seconds' jobs (the sweep) fall back to every minute`,
          'Update it: alter extension pg_cron update; (on Supabase, upgrade the project\'s Postgres). Then: select private.sync_scheduled_jobs();',
        );
  }
  if (local) return ok('pg_cron', 'emulated: the dev scheduler runs private.scheduled_jobs on the same schedules');
  return fail(
    'pg_cron',
    `pg_cron is ${available ? 'available but not enabled' : 'not available on this server'}: no sweep (lost wake-ups stay lost, expired leases stay held), no expiry, no pruning`,
    available
      ? `create extension pg_cron; (or ${ENABLE_HINT}), then schedule Strata's jobs: select private.sync_scheduled_jobs();`
      : 'Use a Postgres with pg_cron (every Supabase project has it).',
  );
}

export interface ScheduledJob {
  name: string;
  schedule: string;
  command: string;
}

export interface CronJob {
  jobname: string | null;
  schedule: string;
  command: string;
  active: boolean;
}

export async function readScheduledJobs(sql: Sql): Promise<ScheduledJob[] | null> {
  const [present] = await sql<{ present: boolean }[]>`
    select exists (select 1 from pg_class c join pg_namespace n on n.oid = c.relnamespace
                    where n.nspname = 'private' and c.relname = 'scheduled_jobs') as present`;
  if (!present!.present) return null;
  return sql<ScheduledJob[]>`select name, schedule, command from private.scheduled_jobs order by name`;
}

export async function readCronJobs(sql: Sql): Promise<CronJob[]> {
  return sql<CronJob[]>`select jobname, schedule, command, active from cron.job order by jobname`;
}

const normalize = (text: string) => text.trim().replace(/\s+/g, ' ').replace(/;$/, '');
const SYNC = 'select private.sync_scheduled_jobs();';

/**
 * Every row of private.scheduled_jobs has a schedule pg_cron accepts, and,
 * where pg_cron runs them (`cron` given), is scheduled under its name with
 * the same schedule and command, and active. Locally (no pg_cron) the dev
 * scheduler reads the table itself.
 */
export function scheduledJobsCheck(jobs: ScheduledJob[] | null, cron: CronJob[] | null, local: boolean): Check {
  const name = 'scheduled_jobs';
  if (jobs === null) return fail(name, 'private.scheduled_jobs does not exist: the migrations have not run', 'Apply the migrations (see the migrations check).');
  if (jobs.length === 0) return fail(name, 'private.scheduled_jobs is empty: no sweep, no expiry, no pruning', 'Apply the migrations again (they insert the jobs).');

  const invalid: string[] = [];
  for (const job of jobs) {
    try {
      parseSchedule(job.schedule);
    } catch {
      invalid.push(`${job.name} ('${job.schedule}')`);
    }
  }
  const invalidProblem = invalid.length > 0 ? `schedule not valid pg_cron syntax: ${invalid.join(', ')}` : null;
  const invalidFix = `update private.scheduled_jobs set schedule = '<5-field cron or "N seconds">' where name = '…';${cron ? ` then ${SYNC}` : ''}`;

  if (cron === null) {
    if (invalidProblem) return fail(name, `${invalidProblem} (the ${local ? 'dev scheduler skips' : 'scheduler cannot run'} it)`, invalidFix);
    const list = jobs.map((job) => `${job.name} (${job.schedule})`).join(', ');
    return local
      ? ok(name, `${jobs.length} jobs, run by the dev scheduler from private.scheduled_jobs: ${list}`)
      : fail(name, `${jobs.length} jobs are never run: no pg_cron (${list})`, `Enable pg_cron, then: ${SYNC}`);
  }

  const byName = new Map(cron.filter((job) => job.jobname !== null).map((job) => [job.jobname!, job]));
  const failures: string[] = invalidProblem ? [invalidProblem] : [];
  const degraded: string[] = [];
  for (const job of jobs) {
    const scheduled = byName.get(job.name);
    if (!scheduled) failures.push(`${job.name} is not scheduled in cron.job`);
    else {
      if (normalize(scheduled.schedule) !== normalize(job.schedule)) {
        // pg_cron before 1.5 has no seconds: the sweep then runs every minute.
        if (/seconds?$/i.test(job.schedule.trim()) && normalize(scheduled.schedule) === '* * * * *') {
          degraded.push(`${job.name} runs every minute instead of every ${job.schedule.trim()}`);
        } else failures.push(`${job.name} is scheduled '${scheduled.schedule}' instead of '${job.schedule}'`);
      }
      if (normalize(scheduled.command) !== normalize(job.command)) failures.push(`${job.name} runs '${scheduled.command}' instead of '${job.command}'`);
      if (!scheduled.active) failures.push(`${job.name} is inactive`);
    }
  }
  const known = new Set(jobs.map((job) => job.name));
  const strays = cron.filter((job) => job.jobname?.startsWith('strata-') && !known.has(job.jobname)).map((job) => job.jobname!);

  if (failures.length > 0) return fail(name, failures.join('; '), invalidProblem ? invalidFix : `Schedule every job again by name: ${SYNC}`);
  if (degraded.length > 0) return warn(name, `${degraded.join('; ')} (pg_cron before 1.5)`, 'Update pg_cron (see the pg_cron check).');
  if (strays.length > 0) {
    return warn(name, `cron.job has Strata jobs private.scheduled_jobs no longer lists: ${strays.join(', ')}`, strays.map((job) => `select cron.unschedule('${job}');`).join(' '));
  }
  return ok(name, `${jobs.length} jobs scheduled in cron.job as private.scheduled_jobs lists them: ${jobs.map((job) => `${job.name} (${job.schedule})`).join(', ')}`);
}
