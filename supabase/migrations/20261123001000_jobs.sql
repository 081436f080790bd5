-- The durable work queue. pg_net and Database Webhooks are at most once, so
-- an HTTP call is only ever a wake-up: the work itself is a row here, claimed
-- with FOR UPDATE SKIP LOCKED and a lease, retried with back-off, and
-- dead-lettered (kept, visible, retryable) after too many attempts.

-- pg_net sends the wake-ups on Supabase; where it is not available (plain
-- Postgres, the local stack's stand-in) nothing here depends on it.
do $$
begin
  if exists (select 1 from pg_available_extensions where name = 'pg_net')
     and not exists (select 1 from pg_extension where extname = 'pg_net') then
    create extension pg_net with schema extensions;
  end if;
end
$$;

create table private.jobs (
  id bigint generated always as identity primary key,
  kind text not null,
  -- What the job is about: a conversation id, a user id, ...
  subject_id uuid not null,
  -- The owner; no foreign key, so erasure jobs outlive the user row.
  user_id uuid,
  -- What the job needs beyond its subject, fixed when it was queued (for
  -- example the exact S3 key of the archive generation to delete).
  payload jsonb,
  status text not null default 'pending',
  attempts integer not null default 0,
  max_attempts integer not null default 8,
  run_after timestamptz not null default now(),
  lease_until timestamptz,
  locked_by text,
  last_error text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  finished_at timestamptz,
  constraint jobs_kind_check check (kind in ('archive_conversation', 'erase_user_objects', 'process_file',
                                             'delete_file', 'delete_analysis', 'delete_archive_object')),
  constraint jobs_status_check check (status in ('pending', 'running', 'done', 'dead')),
  constraint jobs_attempts_check check (attempts >= 0 and max_attempts > 0)
);
comment on table private.jobs is
  'Durable background jobs (archive, erasure, files, S3-first deletes). HTTP wake-ups only say "look here".';

-- At most one live job per subject: duplicate deletes and wake-ups are harmless.
create unique index jobs_one_live_per_subject
  on private.jobs (kind, subject_id) where status in ('pending', 'running', 'dead');
-- Claiming: due pending jobs in order, and running jobs whose lease expired.
create index jobs_due_idx on private.jobs (kind, run_after) where status = 'pending';
create index jobs_lease_idx on private.jobs (lease_until) where status = 'running';
-- Pruning finished jobs.
create index jobs_finished_at_idx on private.jobs (finished_at) where status = 'done';

create trigger jobs_set_updated_at
  before update on private.jobs
  for each row execute function private.set_updated_at();

alter table private.jobs enable row level security;
revoke all on private.jobs from anon, authenticated;
grant select, insert, update, delete on private.jobs to service_role;

-- Queues a job unless one is already live for the subject (duplicate deletes
-- and repeated triggers are harmless), and notes that this statement queued
-- work, so that its statement trigger (private.wake_after_statement) sends one
-- wake-up for all of it. Called by the security definer triggers that queue jobs.
-- strata.archive_jobs_queued is only a hint for the wake-up: a session that
-- sets or clears it causes or skips one HTTP call, never any work.
create or replace function private.enqueue_job(job_kind text, subject uuid, owner uuid, job_payload jsonb default null)
returns void
language plpgsql
set search_path = ''
as $$
begin
  insert into private.jobs (kind, subject_id, user_id, payload) values (job_kind, subject, owner, job_payload)
  on conflict (kind, subject_id) where status in ('pending', 'running', 'dead') do nothing;
  perform set_config('strata.archive_jobs_queued', 'on', true);
end
$$;
comment on function private.enqueue_job(text, uuid, uuid, jsonb) is
  'Queues a job once per subject and marks the statement for one wake-up. Internal, for the triggers.';

-- Keeps the history bounded: finished jobs older than job_retention_hours
-- go (dead jobs stay until retried or removed by hand), with the expiry runs
-- of the same age and the passes of ended transactions. Scheduled hourly.
create or replace function private.prune_jobs()
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  keep interval := make_interval(hours => (select s.job_retention_hours from private.settings s));
  jobs_pruned integer;
  runs_pruned integer;
begin
  delete from private.jobs where status = 'done' and finished_at < now() - keep;
  get diagnostics jobs_pruned = row_count;
  delete from private.expiry_runs where finished_at < now() - keep;
  get diagnostics runs_pruned = row_count;
  return jsonb_build_object('jobs', jobs_pruned, 'expiry_runs', runs_pruned, 'gate_passes', private.prune_gate_passes());
end
$$;
comment on function private.prune_jobs() is
  'Scheduled hourly: deletes finished jobs and expiry runs older than the retention, and stale gate passes.';

insert into private.scheduled_jobs (name, schedule, command, description)
values ('strata-prune-jobs', '45 * * * *', 'select private.prune_jobs()',
        'Delete finished jobs and expiry runs past the retention (dead jobs are kept).')
on conflict (name) do update set schedule = excluded.schedule, command = excluded.command;
select private.sync_scheduled_jobs();

-- Sends one wake-up to the archive-worker function through pg_net, with the
-- URL and key from Vault. Does nothing (and fails nothing) where pg_net or the
-- secrets are missing: the scheduled sweep picks the jobs up instead.
-- Internal; security definer to read Vault and call pg_net on behalf of any
-- role whose statement queued a job.
create or replace function private.wake_workers(worker text default 'archive-worker')
returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
  api_url text;
  service_key text;
  request_id bigint;
begin
  if to_regprocedure('net.http_post(text, jsonb, jsonb, jsonb, integer)') is null
     or to_regclass('vault.decrypted_secrets') is null then
    return null;
  end if;
  select decrypted_secret into api_url from vault.decrypted_secrets where name = 'strata_api_url';
  select decrypted_secret into service_key from vault.decrypted_secrets where name = 'strata_service_role_key';
  if api_url is null or service_key is null then
    return null;
  end if;
  -- A wake-up to the same worker still waiting to be sent covers this one
  -- (the worker drains the table, and the sweep re-wakes while jobs are due).
  if to_regclass('net.http_request_queue') is not null and exists (
       select 1 from net.http_request_queue q
        where q.url = rtrim(api_url, '/') || '/functions/v1/' || worker) then
    return null;
  end if;
  execute 'select net.http_post(url := $1, body := $2, headers := $3, timeout_milliseconds := 5000)'
    into request_id
    using rtrim(api_url, '/') || '/functions/v1/' || worker,
          jsonb_build_object('wake', true),
          jsonb_build_object('Content-Type', 'application/json', 'Authorization', 'Bearer ' || service_key);
  return request_id;
exception when others then
  -- A wake-up is an optimisation; never let it fail the caller's transaction.
  raise warning 'strata: could not wake %: %', worker, sqlerrm;
  return null;
end
$$;
comment on function private.wake_workers(text) is
  'Sends one pg_net wake-up to a worker function (URL and key from Vault). No-op without pg_net or secrets. Security definer: reads Vault.';
revoke execute on function private.wake_workers(text) from public;
