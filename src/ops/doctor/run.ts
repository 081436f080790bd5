// strata doctor: a deployment (or the local stack) checked end to end, one
// line per check, each with what to do. The checks read; none changes
// anything (the worker is asked on its read-only status route).
import type { EnvGetter } from '../../../supabase/functions/_shared/config.ts';
import type { Sql } from '../../../supabase/functions/_shared/db/client.ts';
import { errorLine, fail, guarded, ok, type Check, type DoctorReport } from './check.ts';
import { migrationsCheck, readAppliedVersions, readMigrationFiles } from './migrations.ts';
import { hasNetStandIn, pgCronCheck, pgNetCheck, readCronJobs, readPlatformFacts, readScheduledJobs, scheduledJobsCheck } from './platform.ts';
import { readQueueChecks } from './queue.ts';
import { s3Checks } from './s3.ts';
import { readWakeSecrets, vaultCheck, workerCheck } from './wake.ts';

export interface DoctorOptions {
  sql: Sql;
  env: EnvGetter;
  target: 'environment' | 'local stack';
  /** supabase/migrations of this checkout. */
  migrationsDir: string;
  fetch?: typeof fetch;
}

/** user@host:port/database, without the password. */
function describeDbUrl(url: string | undefined): string {
  if (!url) return '(no SUPABASE_DB_URL)';
  try {
    const parsed = new URL(url);
    return `${decodeURIComponent(parsed.username) || '?'}@${parsed.host}${parsed.pathname}`;
  } catch {
    return '(an unreadable SUPABASE_DB_URL)';
  }
}

async function databaseChecks(options: DoctorOptions): Promise<Check[]> {
  const { sql, env } = options;
  let role: string;
  let version: string;
  try {
    const [row] = await sql<{ role: string; version: string }[]>`select current_user as role, current_setting('server_version') as version`;
    role = row!.role;
    version = row!.version;
  } catch (error) {
    return [fail('database', `cannot connect to ${describeDbUrl(env('SUPABASE_DB_URL'))}: ${errorLine(error)} (the database checks were skipped)`,
      'Check SUPABASE_DB_URL (the direct connection string, Dashboard → Connect), or start the local stack with "npm start".')];
  }
  const database = ok('database', `connected to ${describeDbUrl(env('SUPABASE_DB_URL'))} as ${role} (PostgreSQL ${version})`);

  const facts = await readPlatformFacts(sql);
  // The local stack emulates pg_net and pg_cron; recognised by its stand-in too,
  // when SUPABASE_DB_URL names the local database.
  const local = options.target === 'local stack' || hasNetStandIn(facts);

  const [scheduled, wake, migrations, queue] = await Promise.all([
    guarded('scheduled_jobs', async () =>
      scheduledJobsCheck(await readScheduledJobs(sql), facts.pgCron.version !== null ? await readCronJobs(sql) : null, local)),
    (async (): Promise<Check[]> => {
      try {
        const secrets = await readWakeSecrets(sql);
        return [vaultCheck(secrets, env), await workerCheck(secrets, env, options.fetch)];
      } catch (error) {
        return [fail('vault_secrets', `could not check: ${errorLine(error)}`)];
      }
    })(),
    guarded('migrations', async () =>
      migrationsCheck(await readMigrationFiles(options.migrationsDir), await readAppliedVersions(sql), local)),
    readQueueChecks(sql).catch((error) => [fail('queue', `could not read private.jobs: ${errorLine(error)}`, 'Apply the migrations (see the migrations check).')]),
  ]);
  return [database, pgNetCheck(facts, local), pgCronCheck(facts, local), scheduled, ...wake, migrations, ...queue];
}

export async function runDoctor(options: DoctorOptions): Promise<DoctorReport> {
  const [database, s3] = await Promise.all([databaseChecks(options), s3Checks(options.env)]);
  // Platform and wake-up first, then S3, then what follows from them.
  const at = database.findIndex((check) => check.name === 'migrations');
  const checks = at === -1 ? [...database, ...s3] : [...database.slice(0, at), ...s3, ...database.slice(at)];
  return { target: options.target, checks };
}

export const hasFailure = (report: DoctorReport) => report.checks.some((check) => check.status === 'fail');
