// The migrations hand private.scheduled_jobs to pg_cron. Before 1.5 pg_cron
// knows no '[1-59] seconds' schedules ("invalid schedule: 5 seconds"): the
// migrations must still apply there, running such a job every minute and
// saying so. No pg_cron here, so a scratch database gets a stand-in
// cron.schedule(text, text, text) that behaves like 1.4 (or 1.5), before the
// migrations run with the Supabase CLI as `supabase db push` would.
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PROJECT_ROOT } from '../src/cli/project.ts';
import { applyMigrations } from '../src/dev/migrations.ts';
import { applyPlatformSql } from '../src/dev/platform.ts';
import { connect, type Sql } from './helpers/db.ts';

const dbName = `strata_pg_cron_${randomBytes(4).toString('hex')}`;
let admin: Sql;
let sql: Sql;
const notices: postgres.Notice[] = [];

/** pg_cron's cron.schedule: five-field cron always, '[1-59] seconds' from 1.5 on. */
function fakeCronSchedule(version: '1.4' | '1.5'): string {
  const seconds = version === '1.5' ? `or schedule ~ '^([1-9]|[1-5][0-9]) seconds$'` : '';
  return `
    create or replace function cron.schedule(job_name text, schedule text, command text) returns bigint
    language plpgsql as $$
    declare id bigint;
    begin
      if not (array_length(regexp_split_to_array(trim(schedule), '\\s+'), 1) = 5 ${seconds}) then
        raise exception 'invalid schedule: %', schedule
          using errcode = 'invalid_parameter_value', hint = 'Use cron format (e.g. 5 4 * * *), or interval format ''[1-59] seconds''';
      end if;
      insert into cron.job (jobname, schedule, command) values (job_name, schedule, command)
      on conflict (jobname) do update set schedule = excluded.schedule, command = excluded.command
      returning jobid into id;
      return id;
    end $$;`;
}

beforeAll(async () => {
  admin = connect({ max: 1 });
  await admin.unsafe(`create database ${dbName}`);
  const url = new URL(inject('stack').dbUrl);
  url.pathname = `/${dbName}`;
  // The platform SQL as the superuser, as the stack applies it; the rest as postgres.
  const adminUrl = new URL(inject('stack').adminDbUrl);
  adminUrl.pathname = `/${dbName}`;
  await applyPlatformSql(adminUrl.toString());
  sql = postgres(url.toString(), { max: 1, onnotice: (notice) => void notices.push(notice) });
  await sql.unsafe(`
    create schema cron;
    create table cron.job (jobid bigserial primary key, jobname text unique, schedule text not null, command text not null);
    ${fakeCronSchedule('1.4')}`);
  await applyMigrations(url.toString(), PROJECT_ROOT);
}, 120_000);

afterAll(async () => {
  await sql?.end();
  await admin.unsafe(`drop database if exists ${dbName} with (force)`);
  await admin.end();
});

describe('scheduled jobs on pg_cron', () => {
  it('apply on pg_cron 1.4: a seconds job runs every minute, the others on their own schedule, and the row says which', async () => {
    const jobs = await sql<{ name: string; schedule: string; command: string; scheduled_as: string }[]>`
      select name, schedule, command, scheduled_as from private.scheduled_jobs order by name`;
    expect(jobs.length).toBeGreaterThanOrEqual(3);
    const sweep = jobs.find((j) => j.name === 'strata-jobs-sweep')!;
    expect(sweep).toMatchObject({ schedule: '5 seconds', command: 'select private.jobs_sweep()', scheduled_as: '* * * * *' });
    for (const job of jobs.filter((j) => !/seconds$/.test(j.schedule))) expect(job.scheduled_as, job.name).toBe(job.schedule);
    const cron = await sql<{ jobname: string; schedule: string; command: string }[]>`select jobname, schedule, command from cron.job order by jobname`;
    expect(cron).toEqual(jobs.map((j) => ({ jobname: j.name, schedule: j.scheduled_as, command: j.command })));
  });

  it('warn when falling back, naming the job and what to do', async () => {
    notices.length = 0;
    const report = await sql<{ job_name: string; schedule: string; scheduled_as: string }[]>`select * from private.sync_scheduled_jobs()`;
    expect(report).toContainEqual({ job_name: 'strata-jobs-sweep', schedule: '5 seconds', scheduled_as: '* * * * *' });
    const warning = notices.find((n) => n.severity === 'WARNING' && String(n.message).includes('strata-jobs-sweep'));
    expect(warning?.message).toMatch(/refused the schedule '5 seconds'.*every minute/);
    expect(warning?.hint).toMatch(/pg_cron 1\.5/);
    expect(warning?.detail).toMatch(/invalid schedule: 5 seconds/);
  });

  it('schedule the seconds again once pg_cron accepts them (1.5 and later)', async () => {
    await sql.unsafe(fakeCronSchedule('1.5'));
    notices.length = 0;
    const report = await sql<{ job_name: string; scheduled_as: string }[]>`select job_name, scheduled_as from private.sync_scheduled_jobs()`;
    expect(report).toContainEqual({ job_name: 'strata-jobs-sweep', scheduled_as: '5 seconds' });
    expect(notices.filter((n) => n.severity === 'WARNING')).toEqual([]);
    const [row] = await sql`select scheduled_as from private.scheduled_jobs where name = 'strata-jobs-sweep'`;
    expect(row!.scheduled_as).toBe('5 seconds');
    const [cron] = await sql`select schedule from cron.job where jobname = 'strata-jobs-sweep'`;
    expect(cron!.schedule).toBe('5 seconds');
  });

  it('still fail on any other refusal from pg_cron', async () => {
    await sql.unsafe(`
      create or replace function cron.schedule(job_name text, schedule text, command text) returns bigint
      language plpgsql as $$ begin raise exception 'permission denied for schema cron' using errcode = 'insufficient_privilege'; end $$`);
    const error = await sql`select * from private.sync_scheduled_jobs()`.catch((e) => e);
    expect(error.code).toBe('42501');
  });

  it('do nothing where pg_cron is absent (the stack database)', async () => {
    const stackSql = connect({ max: 1 });
    try {
      expect(await stackSql`select * from private.sync_scheduled_jobs()`).toEqual([]);
      const [row] = await stackSql`select count(*)::int as n from private.scheduled_jobs where scheduled_as is not null`;
      expect(row!.n).toBe(0);
    } finally {
      await stackSql.end();
    }
  });
});
