-- One list of Strata's scheduled jobs. On Supabase each row is scheduled with
-- pg_cron under its name (re-scheduling by name replaces it). Where pg_cron is
-- missing (local stack, plain Postgres) nothing fails: the dev scheduler reads
-- the same rows and runs the same commands on the same schedules.

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
  constraint scheduled_jobs_name_check check (name ~ '^strata-[a-z0-9-]+$'),
  constraint scheduled_jobs_schedule_check
    check (schedule ~ '^([1-9]|[1-5][0-9]) seconds$' or array_length(regexp_split_to_array(trim(schedule), '\s+'), 1) = 5)
);
comment on table private.scheduled_jobs is
  'Strata''s scheduled jobs: pg_cron runs them on Supabase, the dev scheduler locally.';
alter table private.scheduled_jobs enable row level security;

-- Schedules every row with pg_cron when it is installed; a no-op otherwise.
-- Called by the migrations that add jobs. Not exposed to any API role.
create or replace function private.sync_scheduled_jobs()
returns integer
language plpgsql
set search_path = ''
as $$
declare
  job record;
  scheduled integer := 0;
begin
  if not exists (select 1 from pg_extension where extname = 'pg_cron') then
    return 0;
  end if;
  for job in select name, schedule, command from private.scheduled_jobs order by name loop
    execute 'select cron.schedule($1, $2, $3)' using job.name, job.schedule, job.command;
    scheduled := scheduled + 1;
  end loop;
  return scheduled;
end
$$;
comment on function private.sync_scheduled_jobs() is
  'Schedules private.scheduled_jobs with pg_cron where it exists; returns how many. Migration-time only.';
