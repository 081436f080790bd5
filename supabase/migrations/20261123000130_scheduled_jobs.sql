-- One list of Strata's scheduled jobs. On Supabase each row is scheduled with
-- pg_cron under its name (re-scheduling by name replaces it). Where pg_cron is
-- missing (local stack, plain Postgres) nothing fails: the dev scheduler reads
-- the same rows and runs the same commands on the same schedules. Where
-- pg_cron is older than 1.5 (self-hosted images, Debian's 1.4), which knows
-- no sub-minute schedules, a '[1-59] seconds' job runs every minute instead,
-- with a warning, and the row records the schedule pg_cron was given.

do $$
begin
  if exists (select 1 from pg_available_extensions where name = 'pg_cron')
     and not exists (select 1 from pg_extension where extname = 'pg_cron') then
    create extension pg_cron;
  end if;
end
$$;

create table private.scheduled_jobs (
  name text primary key,
  -- pg_cron syntax: a five-field cron expression or '[1-59] seconds'.
  schedule text not null,
  -- A single statement, by convention `select private.some_function()`.
  command text not null,
  description text not null default '',
  -- What pg_cron was last given by sync_scheduled_jobs: the schedule itself,
  -- or '* * * * *' where pg_cron refused a seconds schedule (before 1.5).
  -- Null where pg_cron is absent (the dev scheduler runs `schedule`).
  scheduled_as text,
  constraint scheduled_jobs_name_check check (name ~ '^strata-[a-z0-9-]+$'),
  constraint scheduled_jobs_schedule_check
    check (schedule ~ '^([1-9]|[1-5][0-9]) seconds$' or array_length(regexp_split_to_array(trim(schedule), '\s+'), 1) = 5)
);
comment on table private.scheduled_jobs is
  'Strata''s scheduled jobs: pg_cron runs them on Supabase, the dev scheduler locally.';
comment on column private.scheduled_jobs.scheduled_as is
  'The schedule pg_cron runs the job on: schedule, or every minute where pg_cron predates second schedules (1.5). Null without pg_cron.';
alter table private.scheduled_jobs enable row level security;

-- Schedules every row with pg_cron where cron.schedule exists; a no-op (no
-- rows) otherwise. pg_cron before 1.5 refuses '[1-59] seconds' with
-- invalid_parameter_value ("invalid schedule: 5 seconds"): such a job is
-- scheduled every minute instead and a warning says so, so that `supabase db
-- push` never fails on an older pg_cron. Any other refusal fails as before.
-- Returns one row per job: its schedule and what pg_cron was given; after an
-- upgrade of pg_cron, `select * from private.sync_scheduled_jobs()` schedules
-- the seconds again. Called by the migrations that add jobs. Not exposed to
-- any API role.
create or replace function private.sync_scheduled_jobs()
returns table (job_name text, schedule text, scheduled_as text)
language plpgsql
set search_path = ''
as $$
declare
  job record;
  used text;
begin
  -- The function rather than the extension row: the same test holds for any
  -- install of pg_cron, and a stand-in can be tested without one.
  if to_regprocedure('cron.schedule(text, text, text)') is null then
    return;
  end if;
  for job in select j.name, j.schedule, j.command from private.scheduled_jobs j order by j.name loop
    used := job.schedule;
    begin
      execute 'select cron.schedule($1, $2, $3)' using job.name, job.schedule, job.command;
    exception when invalid_parameter_value then
      if job.schedule !~ '^[0-9]+ seconds$' then
        raise;
      end if;
      used := '* * * * *';
      raise warning 'strata: pg_cron % refused the schedule ''%'' of %; it runs every minute instead',
          coalesce((select e.extversion from pg_catalog.pg_extension e where e.extname = 'pg_cron'), '(version unknown)'),
          job.schedule, job.name
        using detail = sqlerrm,
              hint = 'Sub-minute schedules need pg_cron 1.5 or later. After upgrading it, run: select * from private.sync_scheduled_jobs();';
      execute 'select cron.schedule($1, $2, $3)' using job.name, used, job.command;
    end;
    update private.scheduled_jobs j set scheduled_as = used where j.name = job.name;
    job_name := job.name;
    schedule := job.schedule;
    scheduled_as := used;
    return next;
  end loop;
end
$$;
comment on function private.sync_scheduled_jobs() is
  'Schedules private.scheduled_jobs with pg_cron where it exists, every minute where pg_cron refuses seconds (before 1.5); one row per job with the schedule used. Migration-time and operators only.';
