// strata doctor's judgements, for the cases the local stack cannot show:
// real pg_net and pg_cron (and pg_cron before 1.5), cron.job against
// private.scheduled_jobs, migrations ahead of or behind the checkout, CORS
// rules, queue thresholds, and an unreachable worker.
import { describe, expect, it } from 'vitest';
import { freePort } from '../../src/dev/ports.ts';
import { migrationsCheck } from '../../src/ops/doctor/migrations.ts';
import {
  cronSupportsSeconds,
  pgCronCheck,
  pgNetCheck,
  scheduledJobsCheck,
  type CronJob,
  type PlatformFacts,
  type ScheduledJob,
} from '../../src/ops/doctor/platform.ts';
import { DUE_WARN_SECONDS, queueChecks } from '../../src/ops/doctor/queue.ts';
import { corsCheckOf } from '../../src/ops/doctor/s3.ts';
import { vaultCheck, workerCheck } from '../../src/ops/doctor/wake.ts';
import type { S3Config } from '../../supabase/functions/_shared/config.ts';
import type { JobCounts, JobStatus } from '../../supabase/functions/_shared/jobs/status.ts';

const facts = (pgNet: Partial<PlatformFacts['pgNet']>, pgCron: Partial<PlatformFacts['pgCron']>): PlatformFacts => ({
  pgNet: { version: null, available: false, httpPost: false, ...pgNet },
  pgCron: { version: null, available: false, ...pgCron },
});

describe('extensions', () => {
  it.each([
    ['1.4.2', false],
    ['1.4', false],
    ['1.5', true],
    ['1.5.2', true],
    ['1.6.4', true],
    ['2.0', true],
  ])('pg_cron %s runs second schedules: %s', (version, expected) => {
    expect(cronSupportsSeconds(version)).toBe(expected);
  });

  it.each([
    ['hosted, pg_net installed', facts({ version: '0.14.0', available: true, httpPost: true }, {}), false, 'ok', /^pg_net 0\.14\.0/],
    ['local stand-in', facts({ httpPost: true }, {}), true, 'ok', /^emulated/],
    ['a stand-in on a deployment', facts({ httpPost: true }, {}), false, 'warn', /without the pg_net extension/],
    ['available, not enabled', facts({ available: true }, {}), false, 'fail', /available but not enabled/],
    ['not available', facts({}, {}), false, 'fail', /not available/],
    ['installed without http_post', facts({ version: '0.1', available: true }, {}), false, 'fail', /no net\.http_post/],
  ] as const)('pg_net: %s → %s', (_, input, local, status, detail) => {
    const check = pgNetCheck(input, local);
    expect(check.status).toBe(status);
    expect(check.detail).toMatch(detail);
    if (status !== 'ok') expect(check.fix).toBeTruthy();
  });

  it.each([
    ['1.6.4', false, 'ok', /sub-minute/],
    ['1.4.2', false, 'warn', /older than 1\.5.*fall back to every minute/],
    [null, true, 'ok', /^emulated.*dev scheduler/],
    [null, false, 'fail', /not available/],
  ] as const)('pg_cron %s (local: %s) → %s', (version, local, status, detail) => {
    const check = pgCronCheck(facts({}, { version }), local);
    expect(check.status).toBe(status);
    expect(check.detail).toMatch(detail);
  });

  it('pg_cron available but not enabled says to create it and schedule the jobs', () => {
    const check = pgCronCheck(facts({}, { available: true }), false);
    expect(check).toMatchObject({ status: 'fail', fix: expect.stringContaining('select private.sync_scheduled_jobs()') });
  });
});

describe('scheduled jobs against cron.job', () => {
  const jobs: ScheduledJob[] = [
    { name: 'strata-jobs-sweep', schedule: '5 seconds', command: 'select private.jobs_sweep()' },
    { name: 'strata-prune-jobs', schedule: '45 * * * *', command: 'select private.prune_jobs()' },
  ];
  const scheduled = (overrides: Partial<Record<string, Partial<CronJob> | null>> = {}, extra: CronJob[] = []): CronJob[] => [
    ...jobs
      .filter((job) => overrides[job.name] !== null)
      .map((job) => ({ jobname: job.name, schedule: job.schedule, command: job.command, active: true, ...overrides[job.name] })),
    ...extra,
  ];

  it('every row scheduled with the same schedule and command, active → ok', () => {
    expect(scheduledJobsCheck(jobs, scheduled(), false)).toMatchObject({ status: 'ok', detail: expect.stringContaining('2 jobs scheduled') });
    // Whitespace and a trailing semicolon are not differences.
    expect(scheduledJobsCheck(jobs, scheduled({ 'strata-prune-jobs': { command: '  select   private.prune_jobs();' } }), false).status).toBe('ok');
  });

  it.each([
    ['unscheduled', { 'strata-jobs-sweep': null }, 'strata-jobs-sweep is not scheduled in cron.job'],
    ['another schedule', { 'strata-prune-jobs': { schedule: '0 3 * * *' } }, "strata-prune-jobs is scheduled '0 3 * * *' instead of '45 * * * *'"],
    ['another command', { 'strata-prune-jobs': { command: 'select 1' } }, "strata-prune-jobs runs 'select 1' instead of 'select private.prune_jobs()'"],
    ['inactive', { 'strata-jobs-sweep': { active: false } }, 'strata-jobs-sweep is inactive'],
  ] as const)('%s → fail naming the job, fixed by syncing again', (_, overrides, detail) => {
    const check = scheduledJobsCheck(jobs, scheduled(overrides as never), false);
    expect(check).toMatchObject({ status: 'fail', fix: 'Schedule every job again by name: select private.sync_scheduled_jobs();' });
    expect(check.detail).toContain(detail);
  });

  it('a seconds schedule running every minute (pg_cron before 1.5) → warn', () => {
    const check = scheduledJobsCheck(jobs, scheduled({ 'strata-jobs-sweep': { schedule: '* * * * *' } }), false);
    expect(check).toMatchObject({ status: 'warn', detail: expect.stringContaining('strata-jobs-sweep runs every minute instead of every 5 seconds') });
  });

  it('a Strata job left in cron.job that the table no longer lists → warn with the unschedule call', () => {
    const check = scheduledJobsCheck(jobs, scheduled({}, [{ jobname: 'strata-old-job', schedule: '* * * * *', command: 'select 1', active: true }, { jobname: 'someone-elses', schedule: '* * * * *', command: 'select 1', active: true }]), false);
    expect(check).toMatchObject({ status: 'warn', fix: "select cron.unschedule('strata-old-job');" });
    expect(check.detail).not.toContain('someone-elses');
  });

  it('a schedule pg_cron would refuse → fail, with or without pg_cron', () => {
    const bad = [{ ...jobs[1]!, schedule: '61 * * * *' }];
    expect(scheduledJobsCheck(bad, null, true)).toMatchObject({ status: 'fail', detail: expect.stringContaining("strata-prune-jobs ('61 * * * *')") });
    expect(scheduledJobsCheck(bad, [], false).status).toBe('fail');
  });

  it('without pg_cron: the dev scheduler runs them locally (ok); on a deployment nothing runs them (fail)', () => {
    expect(scheduledJobsCheck(jobs, null, true)).toMatchObject({ status: 'ok', detail: expect.stringContaining('dev scheduler') });
    expect(scheduledJobsCheck(jobs, null, false)).toMatchObject({ status: 'fail', detail: expect.stringContaining('never run') });
  });

  it('no table, or an empty one → fail', () => {
    expect(scheduledJobsCheck(null, null, true).status).toBe('fail');
    expect(scheduledJobsCheck([], null, true).status).toBe('fail');
  });
});

describe('migrations', () => {
  const files = new Map([
    ['20261123000100', '20261123000100_private_schema.sql'],
    ['20261123000200', '20261123000200_conversations.sql'],
  ]);

  it('all applied → ok; missing → fail naming the files; applied but unknown here → warn', () => {
    expect(migrationsCheck(files, ['20261123000100', '20261123000200'], false).status).toBe('ok');
    expect(migrationsCheck(files, ['20261123000100'], false)).toMatchObject({
      status: 'fail',
      detail: '1 of 2 migrations not applied: 20261123000200_conversations.sql',
      fix: 'npx supabase db push',
    });
    expect(migrationsCheck(files, ['20261123000100', '20261123000200', '20261201000000'], false)).toMatchObject({
      status: 'warn',
      detail: expect.stringContaining('applied but not in this checkout: 20261201000000'),
    });
    expect(migrationsCheck(files, null, false)).toMatchObject({ status: 'fail', detail: expect.stringContaining('never applied') });
  });
});

describe('queue health', () => {
  const counts = (overrides: Partial<JobCounts> = {}): JobCounts => ({
    due: 0, scheduled: 0, running: 0, expired_leases: 0, dead: 0, oldest_due_seconds: null, done_last_hour: 0, ...overrides,
  });
  const status = (overrides: Partial<JobCounts> = {}): JobStatus => ({
    at: new Date().toISOString(),
    kinds: [{ kind: 'archive_conversation', ...counts(overrides), errors: [] }],
    total: counts(overrides),
  });
  const noStale = { count: 0, oldest_seconds: null };

  it('a quiet queue → three oks', () => {
    expect(queueChecks(status(), noStale).map((c) => [c.name, c.status])).toEqual([['dead_jobs', 'ok'], ['due_jobs', 'ok'], ['expired_leases', 'ok']]);
  });

  it('due jobs younger than the threshold are normal traffic; older ones mean workers are not woken', () => {
    expect(queueChecks(status({ due: 3, oldest_due_seconds: DUE_WARN_SECONDS - 1 }), noStale)[1]!.status).toBe('ok');
    expect(queueChecks(status({ due: 3, oldest_due_seconds: DUE_WARN_SECONDS + 1 }), noStale)[1]).toMatchObject({
      status: 'warn',
      detail: expect.stringContaining('3 jobs due, the oldest for 5m 1s (archive_conversation 3): workers are not being woken'),
    });
  });

  it('dead jobs → warn with the count per kind; leases just expired → ok, long expired → warn', () => {
    expect(queueChecks(status({ dead: 2 }), noStale)[0]).toMatchObject({ status: 'warn', detail: '2 dead jobs (archive_conversation 2)' });
    expect(queueChecks(status({ running: 1, expired_leases: 1 }), noStale)[2]!.status).toBe('ok');
    expect(queueChecks(status({ running: 1, expired_leases: 1 }), { count: 1, oldest_seconds: 125 })[2]).toMatchObject({
      status: 'warn',
      detail: expect.stringContaining('the oldest 2m 5s ago'),
    });
  });
});

describe('S3 CORS rules', () => {
  const config = (sse: 'none' | 'AES256') =>
    ({ configured: true, bucket: 'b', region: 'us-east-1', prefix: '', forcePathStyle: false, sse, requestTimeoutMs: 1000 }) as Extract<S3Config, { configured: true }>;

  it('a PUT rule with the upload headers → ok; none → warn; headers not allowed → warn', () => {
    expect(corsCheckOf([{ AllowedMethods: ['PUT', 'GET'], AllowedOrigins: ['https://app.example'], AllowedHeaders: ['*'] }], config('AES256'))).toMatchObject({
      status: 'ok',
      detail: 'browser uploads allowed: PUT from https://app.example',
    });
    expect(corsCheckOf([{ AllowedMethods: ['GET'], AllowedOrigins: ['*'] }], config('none')).status).toBe('warn');
    expect(corsCheckOf([{ AllowedMethods: ['PUT'], AllowedOrigins: ['*'], AllowedHeaders: ['Content-Type'] }], config('none')).status).toBe('ok');
    expect(corsCheckOf([{ AllowedMethods: ['PUT'], AllowedOrigins: ['*'], AllowedHeaders: ['Content-Type'] }], config('AES256'))).toMatchObject({
      status: 'warn',
      detail: expect.stringContaining('x-amz-server-side-encryption'),
    });
  });
});

describe('Vault secrets and the worker', () => {
  const env = (values: Record<string, string>) => (name: string) => values[name];

  it('a strata_api_url that is not a URL, or not SUPABASE_URL, is reported', () => {
    expect(vaultCheck({ readable: true, apiUrl: 'project-ref', serviceKey: 'k' }, env({})).status).toBe('fail');
    expect(vaultCheck({ readable: true, apiUrl: 'https://a.supabase.co/', serviceKey: 'k' }, env({ SUPABASE_URL: 'https://a.supabase.co' })).status).toBe('ok');
    expect(vaultCheck({ readable: true, apiUrl: 'https://a.supabase.co', serviceKey: 'k' }, env({ SUPABASE_URL: 'https://b.supabase.co' }))).toMatchObject({
      status: 'warn',
      fix: expect.stringContaining('https://b.supabase.co'),
    });
    expect(vaultCheck({ readable: false, problem: 'there is no Vault (vault.decrypted_secrets)' }, env({})).status).toBe('fail');
  });

  it('a worker URL nothing listens on → fail: cannot reach', async () => {
    const port = await freePort();
    const check = await workerCheck({ readable: true, apiUrl: `http://127.0.0.1:${port}/`, serviceKey: 'k' }, env({}));
    expect(check).toMatchObject({ status: 'fail', detail: expect.stringMatching(/ECONNREFUSED/) });
    expect(check.detail).toContain(`cannot reach http://127.0.0.1:${port}/functions/v1/archive-worker/status`);
  });
});
