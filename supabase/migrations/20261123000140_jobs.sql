-- The durable job queue, for every kind of background work: archiving,
-- erasure, file processing, S3-first deletes. pg_net and Database Webhooks
-- are at most once, so an HTTP call is only ever a wake-up: the work itself
-- is a row here, queued in the same transaction as the change that needs it,
-- claimed with FOR UPDATE SKIP LOCKED and a lease, finished, or failed with
-- back-off and dead-lettered (kept, visible, retryable) after too many
-- attempts; a scheduled sweep reclaims expired leases and re-wakes workers,
-- and finished jobs are pruned.
--
-- Adding a kind: insert it into private.job_kinds in its capability's
-- migration, queue it with private.enqueue_job from a trigger or function,
-- and, where the kind has side effects on its own tables (an index row's
-- state, a file's status), add an AFTER UPDATE trigger on private.jobs
-- filtered on the kind (see the archive and files migrations). The worker
-- side is one handler in the capability's folder (supabase/functions/_shared/jobs).

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

-- The kinds of work, each registered by the migration of its capability.
create table private.job_kinds (
  kind text primary key,
  description text not null,
  constraint job_kinds_kind_check check (kind ~ '^[a-z][a-z0-9_]{0,62}$')
);
comment on table private.job_kinds is
  'Registered job kinds; each capability''s migration adds its own.';
alter table private.job_kinds enable row level security;

create table private.jobs (
  id bigint generated always as identity primary key,
  kind text not null references private.job_kinds (kind),
  -- What the job is about: a conversation id, a user id, an archive generation, ...
  subject_id uuid not null,
  -- The owner; no foreign key, so erasure jobs outlive the user row.
  user_id uuid,
  -- What the job needs beyond its subject, fixed when it was queued (for
  -- example the exact S3 key of the archive generation to delete), and the
  -- progress of work that spans several invocations.
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
  constraint jobs_status_check check (status in ('pending', 'running', 'done', 'dead')),
  constraint jobs_attempts_check check (attempts >= 0 and max_attempts > 0)
);
comment on table private.jobs is
  'Durable background jobs of every kind. HTTP wake-ups only say "look here".';

-- At most one live job per subject: duplicate deletes and wake-ups are harmless.
create unique index jobs_one_live_per_subject
  on private.jobs (kind, subject_id) where status in ('pending', 'running', 'dead');
-- Claiming: due pending jobs in order, and running jobs whose lease expired.
create index jobs_due_idx on private.jobs (kind, run_after) where status = 'pending';
create index jobs_lease_idx on private.jobs (lease_until) where status = 'running';
-- Pruning finished jobs, and the status report's "done in the last hour".
create index jobs_finished_at_idx on private.jobs (finished_at) where status = 'done';

create trigger jobs_set_updated_at
  before update on private.jobs
  for each row execute function private.set_updated_at();

alter table private.jobs enable row level security;
revoke all on private.jobs from anon, authenticated;
grant select, insert, update, delete on private.jobs to service_role;

-- Queues a job unless one is already live for the subject (duplicate deletes
-- and repeated triggers are harmless), and notes that this statement queued
-- work, so that its statement trigger (wake_after_statement) sends one
-- wake-up for all of it. strata.archive_jobs_queued is only a hint for that
-- wake-up: a session that sets or clears it causes or skips one HTTP call,
-- never any work.
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
  'Queues a job once per subject and marks the statement for one wake-up. Internal, for triggers and functions.';

-- Sends wake-ups to a worker function through pg_net, with the URL and key
-- from Vault: `copies` requests at once when the backlog is large (each
-- wakes one worker invocation), fewer when some are still queued. Does
-- nothing (and fails nothing) where pg_net or the secrets are missing: the
-- scheduled sweep picks the jobs up instead. Returns how many it sent.
-- Internal; security definer to read Vault and call pg_net on behalf of any
-- role whose statement queued a job.
create or replace function private.wake_workers(worker text default 'archive-worker', copies integer default 1)
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
  api_url text;
  service_key text;
  url text;
  queued integer := 0;
  sent integer := 0;
begin
  if to_regprocedure('net.http_post(text, jsonb, jsonb, jsonb, integer)') is null
     or to_regclass('vault.decrypted_secrets') is null then
    return 0;
  end if;
  select decrypted_secret into api_url from vault.decrypted_secrets where name = 'strata_api_url';
  select decrypted_secret into service_key from vault.decrypted_secrets where name = 'strata_service_role_key';
  if api_url is null or service_key is null then
    return 0;
  end if;
  url := rtrim(api_url, '/') || '/functions/v1/' || worker;
  -- Wake-ups to the same worker still waiting to be sent cover this one.
  if to_regclass('net.http_request_queue') is not null then
    execute 'select count(*)::integer from net.http_request_queue q where q.url = $1' into queued using url;
  end if;
  for i in 1 .. greatest(0, least(copies, 16) - queued) loop
    execute 'select net.http_post(url := $1, body := $2, headers := $3, timeout_milliseconds := 5000)'
      using url, jsonb_build_object('wake', true),
            jsonb_build_object('Content-Type', 'application/json', 'Authorization', 'Bearer ' || service_key);
    sent := sent + 1;
  end loop;
  return sent;
exception when others then
  -- A wake-up is an optimisation; never let it fail the caller's transaction.
  raise warning 'strata: could not wake %: %', worker, sqlerrm;
  return 0;
end
$$;
comment on function private.wake_workers(text, integer) is
  'Sends pg_net wake-ups to a worker function (URL and key from Vault). No-op without pg_net or secrets. Security definer: reads Vault.';
revoke execute on function private.wake_workers(text, integer) from public;

-- AFTER ... FOR EACH STATEMENT: one wake-up however many rows the statement
-- queued jobs for (a bulk delete of 10,000 rows sends one HTTP call). Used by
-- every table whose changes queue work.
create or replace function private.wake_after_statement()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if coalesce(current_setting('strata.archive_jobs_queued', true), '') = 'on' then
    perform set_config('strata.archive_jobs_queued', '', true);
    perform private.wake_workers('archive-worker');
  end if;
  return null;
end
$$;
comment on function private.wake_after_statement() is
  'Statement trigger: one pg_net wake-up when the statement queued jobs. Security definer: calls wake_workers.';

-- Claims due jobs (and jobs whose lease expired) for one worker, up to a
-- number per kind: `wanted` is {"kind": n, ...}. The worker asks for each
-- kind only as many as it has free slots for that kind, so a flood of one
-- kind never takes the slots of another. SKIP LOCKED lets any number of
-- workers claim at once. Worker only.
create or replace function private.claim_jobs(worker text, wanted jsonb, lease_seconds integer)
returns table (job_id bigint, kind text, subject_id uuid, user_id uuid, attempts integer, max_attempts integer, payload jsonb)
language plpgsql
set search_path = ''
as $$
declare
  wish record;
begin
  for wish in select w.key as kind, w.value::integer as n from jsonb_each_text(wanted) w where w.value::integer > 0 loop
    return query
    with claimable as (
      select j.id from private.jobs j
       where j.kind = wish.kind
         and ((j.status = 'pending' and j.run_after <= now())
           or (j.status = 'running' and j.lease_until < now()))
       order by j.run_after, j.id
       limit wish.n
       for update skip locked
    )
    update private.jobs j
       set status = 'running', attempts = j.attempts + 1, locked_by = worker,
           lease_until = now() + make_interval(secs => lease_seconds)
      from claimable c where j.id = c.id
    returning j.id, j.kind, j.subject_id, j.user_id, j.attempts, j.max_attempts, j.payload;
  end loop;
end
$$;
comment on function private.claim_jobs(text, jsonb, integer) is
  'Claims due jobs per kind with a lease (FOR UPDATE SKIP LOCKED). Worker only.';

-- Finishes a job the worker still holds. False when it lost the lease.
create or replace function private.finish_job(job_id bigint, worker text)
returns boolean
language sql
set search_path = ''
as $$
  with done as (
    update private.jobs set status = 'done', finished_at = now(), lease_until = null, last_error = null
     where id = job_id and status = 'running' and locked_by = worker
    returning id
  ) select exists (select 1 from done)
$$;
comment on function private.finish_job(bigint, text) is
  'Marks a held job done; false when the lease was lost. Worker only.';

-- Records progress of a job that spans invocations (merged into its payload)
-- and extends its lease. False when the worker lost the lease.
create or replace function private.checkpoint_job(job_id bigint, worker text, progress jsonb, lease_seconds integer)
returns boolean
language sql
set search_path = ''
as $$
  with saved as (
    update private.jobs
       set payload = coalesce(payload, '{}'::jsonb) || progress,
           lease_until = now() + make_interval(secs => lease_seconds)
     where id = job_id and status = 'running' and locked_by = worker
    returning id
  ) select exists (select 1 from saved)
$$;
comment on function private.checkpoint_job(bigint, text, jsonb, integer) is
  'Saves the progress of a long job in its payload and renews the lease. Worker only.';

-- Records a failed attempt: back-off (exponential, capped, with jitter), or
-- dead-letter after max_attempts with the error kept. Other jobs are
-- unaffected; kinds react through their hooks. Returns the new status, or
-- 'lost' when the worker no longer held the job.
create or replace function private.fail_job(job_id bigint, worker text, error text, backoff_base_seconds numeric default 5)
returns text
language plpgsql
set search_path = ''
as $$
declare
  job private.jobs;
  next_status text;
begin
  select * into job from private.jobs where id = job_id and status = 'running' and locked_by = worker for update;
  if not found then
    return 'lost';
  end if;
  next_status := case when job.attempts >= job.max_attempts then 'dead' else 'pending' end;
  update private.jobs
     set status = next_status,
         last_error = left(error, 1000),
         lease_until = null,
         locked_by = null,
         run_after = now() + make_interval(secs => least(3600, backoff_base_seconds * power(2, job.attempts - 1))
                                                   * (0.8 + random() * 0.4))
   where id = job_id;
  return next_status;
end
$$;
comment on function private.fail_job(bigint, text, text, numeric) is
  'Records a failed attempt: back-off or dead-letter. Returns the new status, or lost when the lease was lost. Worker only.';

-- Gives back the jobs a worker holds, without counting the attempt: called
-- when an invocation must stop (its CPU budget is spent, or the runtime is
-- about to shut it down), so the next wake-up continues at once.
create or replace function private.release_jobs(worker text, job_ids bigint[] default null)
returns integer
language sql
set search_path = ''
as $$
  with released as (
    update private.jobs
       set status = 'pending', attempts = greatest(0, attempts - 1), lease_until = null, locked_by = null, run_after = now()
     where status = 'running' and locked_by = worker and (job_ids is null or id = any (job_ids))
    returning id
  ) select count(*)::integer from released
$$;
comment on function private.release_jobs(text, bigint[]) is
  'Gives a worker''s jobs back to the queue without counting the attempt. Worker only.';

-- Puts dead jobs back in the queue (all, or one kind/subject). Operator tool.
create or replace function private.retry_dead_jobs(only_kind text default null, only_subject uuid default null)
returns integer
language plpgsql
set search_path = ''
as $$
declare
  retried integer;
begin
  update private.jobs
     set status = 'pending', attempts = 0, run_after = now(), last_error = null
   where status = 'dead'
     and (only_kind is null or kind = only_kind)
     and (only_subject is null or subject_id = only_subject);
  get diagnostics retried = row_count;
  if retried > 0 then
    perform private.wake_workers('archive-worker');
  end if;
  return retried;
end
$$;
comment on function private.retry_dead_jobs(text, uuid) is
  'Queues dead-lettered jobs again (all, one kind, or one subject). Operator tool.';

-- The scheduled sweep: reclaims expired leases (a worker died; the attempt
-- counts, so a job that kills its workers dead-letters) and, while due jobs
-- remain, wakes the workers again (pg_net requests can be lost), one
-- wake-up per wake_jobs_per_worker due jobs, at most wake_fanout_max.
create or replace function private.jobs_sweep()
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  s private.settings := private.current_settings();
  reclaimed integer;
  due integer;
  woke integer := 0;
begin
  update private.jobs set status = 'pending', locked_by = null, lease_until = null
   where status = 'running' and lease_until < now();
  get diagnostics reclaimed = row_count;
  select count(*) into due from private.jobs where status = 'pending' and run_after <= now();
  if due > 0 then
    woke := private.wake_workers('archive-worker',
              least(s.wake_fanout_max, ceil(due::numeric / s.wake_jobs_per_worker)::integer));
  end if;
  return jsonb_build_object('reclaimed', reclaimed, 'due', due, 'woke', woke);
end
$$;
comment on function private.jobs_sweep() is
  'Scheduled: reclaims expired leases and re-wakes workers (fanning out for a backlog) while jobs are due.';

-- Keeps the history bounded: finished jobs older than job_retention_hours
-- go (dead jobs stay until retried or removed by hand), with the finished
-- expiry runs of the same age and the passes of ended transactions.
create or replace function private.prune_jobs()
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  keep interval := make_interval(hours => (select s.job_retention_hours from private.settings s));
  jobs_pruned integer;
  runs_pruned integer := 0;
begin
  delete from private.jobs where status = 'done' and finished_at < now() - keep;
  get diagnostics jobs_pruned = row_count;
  if to_regclass('private.expiry_runs') is not null then
    delete from private.expiry_runs where finished_at < now() - keep;
    get diagnostics runs_pruned = row_count;
  end if;
  return jsonb_build_object('jobs', jobs_pruned, 'expiry_runs', runs_pruned, 'gate_passes', private.prune_gate_passes());
end
$$;
comment on function private.prune_jobs() is
  'Scheduled hourly: deletes finished jobs and expiry runs older than the retention, and stale gate passes.';

insert into private.scheduled_jobs (name, schedule, command, description)
values ('strata-jobs-sweep', '5 seconds', 'select private.jobs_sweep()',
        'Reclaim expired leases and re-wake workers while jobs are due.'),
       ('strata-prune-jobs', '45 * * * *', 'select private.prune_jobs()',
        'Delete finished jobs and expiry runs past the retention (dead jobs are kept).')
on conflict (name) do update set schedule = excluded.schedule, command = excluded.command;
select private.sync_scheduled_jobs();
