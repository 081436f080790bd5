-- Archive before delete. A DELETE of a conversation that has no stored
-- archive becomes a pending archive in the same transaction: deleted_at is
-- set (the owner no longer sees it, new messages are refused), an index row
-- and a job are queued, the delete is cancelled, and one wake-up per
-- statement is sent. The archive-worker writes the S3 object, then in one
-- transaction marks the index row stored, finishes the job and deletes the
-- conversation; this trigger now sees the stored archive and lets the delete
-- through, and the messages cascade.

-- Every archive is a generation of its conversation, with its own S3 key
-- (archived_conversations/{user_id}/{conversation_id}/{generation}.json.gz).
-- Restore, permanent delete and a new archive of the same conversation can
-- interleave in any order: an object is deleted only by a job that names its
-- exact key, and a new generation never writes over an old one.
create table public.archived_conversations (
  conversation_id uuid primary key,
  generation uuid not null default gen_random_uuid() unique,
  user_id uuid not null references auth.users (id) on delete cascade,
  title text,
  -- The conversation's own created_at, and when its deletion was asked for.
  created_at timestamptz not null,
  deleted_at timestamptz not null default now(),
  -- Set when S3 has acknowledged the object.
  archived_at timestamptz,
  message_count integer,
  bytes bigint,
  sha256 text,
  s3_key text,
  format_version integer,
  -- pending: queued; archiving: a worker holds it; stored: in S3; failed:
  -- dead-lettered; deleting: its owner deleted it for good, the object goes first.
  status text not null default 'pending',
  attempts integer not null default 0,
  last_error text,
  constraint archived_conversations_status_check
    check (status in ('pending', 'archiving', 'stored', 'failed', 'deleting')),
  constraint archived_conversations_s3_key_check check (
    s3_key is null
    or (s3_key ~ ('^([A-Za-z0-9._-]+/)*archived_conversations/' || user_id::text || '/' || conversation_id::text
                  || '/' || generation::text || '\.json\.gz$')
        and ('/' || s3_key) !~ '/(files|archived_conversations|analysis)/.*/archived_conversations/')
  ),
  constraint archived_conversations_stored_check check (
    status <> 'stored' or (archived_at is not null and sha256 is not null and s3_key is not null
                           and message_count is not null and bytes is not null)
  ),
  constraint archived_conversations_sha256_check check (sha256 is null or sha256 ~ '^[0-9a-f]{64}$')
);
comment on table public.archived_conversations is
  'Index of archived conversations (the objects are in S3), including pending archives.';

-- A user's archives newest first; also serves the policies' user_id filter.
create index archived_conversations_user_id_deleted_at_idx
  on public.archived_conversations (user_id, deleted_at desc, conversation_id);
create index archived_conversations_status_idx
  on public.archived_conversations (status) where status <> 'stored';

alter table public.archived_conversations enable row level security;
-- Read only: permanent deletion goes through delete_archived_conversation
-- (the S3 object must go first, which only the worker can do).
revoke all on public.archived_conversations from anon, authenticated;
grant select on public.archived_conversations to authenticated;

create policy "Archived conversations are readable by their owner until deleted"
  on public.archived_conversations for select to authenticated
  using (user_id = (select auth.uid()) and status <> 'deleting');

-- BEFORE DELETE on conversations: the gate. Lets the delete through only
-- with a gate pass (see the gate passes migration): the worker's completing
-- transaction, which has just recorded the stored archive of exactly this
-- row; the expiry sweep's purge ('delete' policy); or the owner's erasure.
-- Otherwise turns it into a pending archive and cancels it.
-- Security definer: the deleting role may not write deleted_at nor see jobs.
create or replace function private.conversations_before_delete()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if private.gate_open('delete_conversation', old.id) or private.gate_open('erase_user', old.user_id) then
    return old;
  end if;

  if old.deleted_at is null then
    update public.conversations set deleted_at = now() where id = old.id;
  end if;
  insert into public.archived_conversations (conversation_id, user_id, title, created_at, deleted_at)
  values (old.id, old.user_id, old.title, old.created_at, coalesce(old.deleted_at, now()))
  on conflict (conversation_id) do nothing;
  perform private.enqueue_job('archive_conversation', old.id, old.user_id);
  return null;
end
$$;
comment on function private.conversations_before_delete() is
  'BEFORE DELETE trigger on conversations: archive before delete. Security definer to set deleted_at and queue jobs.';

create trigger conversations_before_delete
  before delete on public.conversations
  for each row execute function private.conversations_before_delete();

-- A conversation pending archive is frozen: its row and its messages keep
-- the values of the moment it was deleted, so every attempt to archive it
-- (a retry, or a second worker after a lease expired) writes the same
-- document, and a late writer can never replace a stored archive with
-- different content. The final delete, erasure and purge remove the
-- conversation row first, so its messages cascade freely.
create or replace function private.conversations_frozen()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  raise exception 'conversation % is being archived and cannot change', old.id
    using errcode = 'P0002', hint = 'It was deleted; restore it from the archive to change it.';
end
$$;
comment on function private.conversations_frozen() is
  'BEFORE UPDATE trigger on conversations pending archive: refuses changes.';

create trigger conversations_frozen
  before update on public.conversations
  for each row when (old.deleted_at is not null)
  execute function private.conversations_frozen();

-- Security definer: the check must see the conversation even when RLS hides it.
create or replace function private.messages_frozen()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if exists (select 1 from public.conversations c where c.id = old.conversation_id and c.deleted_at is not null) then
    raise exception 'conversation % is being archived; its messages cannot change', old.conversation_id
      using errcode = 'P0002';
  end if;
  return case when tg_op = 'DELETE' then old else new end;
end
$$;
comment on function private.messages_frozen() is
  'BEFORE UPDATE/DELETE trigger on messages: refuses changes while their conversation is pending archive.';

-- Only statements run directly (depth 0) are checked: the cascades of the
-- final delete, a purge or an erasure run inside the foreign key's trigger,
-- after the conversation row is gone, and would otherwise call the function
-- once per message. No session can raise its trigger depth.
create trigger messages_frozen
  before update or delete on public.messages
  for each row
  when (pg_trigger_depth() = 0)
  execute function private.messages_frozen();

-- An id that has an archive belongs to that archive: a new conversation with
-- it would later overwrite the archived one. Restore is the way back.
create or replace function private.conversations_before_insert()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if exists (select 1 from public.archived_conversations a where a.conversation_id = new.id) then
    raise exception 'conversation % is archived; restore it instead', new.id
      using errcode = '23505', hint = 'POST /functions/v1/archive/conversations/{id}/restore';
  end if;
  return new;
end
$$;
comment on function private.conversations_before_insert() is
  'BEFORE INSERT trigger on conversations: refuses ids that belong to an archive. Security definer: reads the whole index.';

create trigger conversations_before_insert
  before insert on public.conversations
  for each row execute function private.conversations_before_insert();

-- AFTER ... FOR EACH STATEMENT: one wake-up however many rows the statement
-- queued jobs for (a bulk delete of 10,000 rows sends one HTTP call). The row
-- triggers that queue jobs set strata.archive_jobs_queued; used by every
-- table whose deletes or updates queue work.
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

create trigger conversations_after_delete_statement
  after delete on public.conversations
  for each statement execute function private.wake_after_statement();

-- Claims up to batch_size due archive jobs (and jobs whose lease expired) for
-- one worker. SKIP LOCKED lets any number of workers claim at once.
-- Called by the archive-worker with the service connection.
create or replace function private.claim_archive_jobs(worker text, batch_size integer, lease_seconds integer)
returns table (job_id bigint, conversation_id uuid, user_id uuid, attempts integer, max_attempts integer, generation uuid)
language plpgsql
set search_path = ''
as $$
begin
  return query
  with claimable as (
    select j.id from private.jobs j
     where j.kind = 'archive_conversation'
       and ((j.status = 'pending' and j.run_after <= now())
         or (j.status = 'running' and j.lease_until < now()))
     order by j.run_after, j.id
     limit batch_size
     for update skip locked
  ), claimed as (
    update private.jobs j
       set status = 'running', attempts = j.attempts + 1, locked_by = worker,
           lease_until = now() + make_interval(secs => lease_seconds)
      from claimable c where j.id = c.id
    returning j.id, j.subject_id, j.user_id, j.attempts, j.max_attempts
  ), marked as (
    update public.archived_conversations a
       set status = 'archiving', attempts = c.attempts
      from claimed c where a.conversation_id = c.subject_id and a.status in ('pending', 'archiving', 'failed')
  )
  -- The generation names the object; every attempt at this archive writes the same key.
  select c.id, c.subject_id, c.user_id, c.attempts, c.max_attempts,
         (select a.generation from public.archived_conversations a where a.conversation_id = c.subject_id)
    from claimed c;
end
$$;
comment on function private.claim_archive_jobs(text, integer, integer) is
  'Claims due archive jobs with a lease (FOR UPDATE SKIP LOCKED). Worker only.';

-- Records a stored archive and removes the conversation, in one transaction:
-- index row stored, job done, conversation deleted (the gate now lets it
-- through; messages cascade). Returns false, changing nothing, when the
-- worker no longer holds the job (its lease expired and another took it).
-- Then, if no index row names the generation it wrote (the archive was
-- stored by the other worker and since restored or deleted, or its user was
-- erased), that object belongs to nobody: a job deletes exactly that key.
create or replace function private.complete_archive(
  job_id bigint, worker text, conversation_id uuid, archive jsonb
) returns boolean
language plpgsql
set search_path = ''
as $$
declare
  written uuid := (archive ->> 'generation')::uuid;
begin
  update private.jobs j
     set status = 'done', finished_at = now(), lease_until = null, last_error = null
   where j.id = job_id and j.status = 'running' and j.locked_by = worker;
  if not found then
    -- Another worker holds (or finished) the job. If the generation is still
    -- indexed and not being deleted, that worker's copy is the same object.
    if not exists (select 1 from public.archived_conversations a
                    where a.generation = written and a.status <> 'deleting') then
      perform private.discard_archive_object(written, (archive ->> 'user_id')::uuid, archive ->> 's3_key');
    end if;
    return false;
  end if;
  if not exists (select 1 from public.archived_conversations a
                  where a.conversation_id = complete_archive.conversation_id and a.generation = written) then
    -- The index row went meanwhile (the owner was erased): the object belongs to nobody.
    perform private.discard_archive_object(written, (archive ->> 'user_id')::uuid, archive ->> 's3_key');
    return false;
  end if;
  update public.archived_conversations a
     set status = 'stored',
         archived_at = now(),
         message_count = (archive ->> 'message_count')::integer,
         bytes = (archive ->> 'bytes')::bigint,
         sha256 = archive ->> 'sha256',
         s3_key = archive ->> 's3_key',
         format_version = (archive ->> 'format_version')::integer,
         title = archive ->> 'title',
         last_error = null
   where a.conversation_id = complete_archive.conversation_id and a.generation = written;
  perform private.open_gate('delete_conversation', complete_archive.conversation_id);
  delete from public.conversations c where c.id = complete_archive.conversation_id;
  perform private.close_gate('delete_conversation', complete_archive.conversation_id);
  return true;
end
$$;
comment on function private.complete_archive(bigint, text, uuid, jsonb) is
  'Marks an archive stored, finishes its job and deletes the conversation in one transaction. Worker only.';

-- Queues the deletion of one generation's object that nobody owns any more.
-- If a deletion job for it is already live, it is flagged to run once more:
-- the copy just written may have landed after that job's delete.
create or replace function private.discard_archive_object(written uuid, owner uuid, key text)
returns void
language plpgsql
set search_path = ''
as $$
begin
  update private.jobs j set payload = j.payload || '{"again": true}'
   where j.kind = 'delete_archive_object' and j.subject_id = written and j.status in ('pending', 'running');
  if not found then
    perform private.enqueue_job('delete_archive_object', written, owner, jsonb_build_object('s3_key', key));
  end if;
end
$$;
comment on function private.discard_archive_object(uuid, uuid, text) is
  'Queues (or re-arms) the deletion of an archive object no index row owns. Internal.';

-- Finishes the deletion of one archive object (its job named the exact key,
-- which the worker has deleted, every version): the job is done and, for a
-- permanent delete, the index row of that generation goes in the same
-- transaction. Worker only.
create or replace function private.complete_archive_object_delete(job_id bigint, worker text)
returns boolean
language plpgsql
set search_path = ''
as $$
declare
  written uuid;
begin
  -- A job flagged 'again' while it ran (a late copy was written) runs once more.
  update private.jobs j
     set status = case when j.payload ? 'again' then 'pending' else 'done' end,
         finished_at = case when j.payload ? 'again' then null else now() end,
         payload = j.payload - 'again', lease_until = null, locked_by = null, last_error = null, run_after = now()
   where j.id = job_id and j.status = 'running' and j.locked_by = worker and j.kind = 'delete_archive_object'
  returning j.subject_id into written;
  if not found then
    return false;
  end if;
  delete from public.archived_conversations a where a.generation = written and a.status = 'deleting';
  return true;
end
$$;
comment on function private.complete_archive_object_delete(bigint, text) is
  'Finishes a delete_archive_object job; removes the index row of a permanently deleted archive. Worker only.';

-- A job whose subject is gone (erased user, purged conversation) is done.
create or replace function private.finish_job(job_id bigint, worker text)
returns boolean
language sql
set search_path = ''
as $$
  with done as (
    update private.jobs set status = 'done', finished_at = now(), lease_until = null
     where id = job_id and status = 'running' and locked_by = worker
    returning id
  ) select exists (select 1 from done)
$$;

-- Records a failed attempt: back-off (exponential, capped, with jitter), or
-- dead-letter after max_attempts with the error kept. Other jobs are unaffected.
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
  if job.kind = 'archive_conversation' then
    update public.archived_conversations
       set status = case when next_status = 'dead' then 'failed' else 'pending' end,
           last_error = left(error, 1000), attempts = job.attempts
     where conversation_id = job.subject_id and status <> 'stored';
  end if;
  return next_status;
end
$$;
comment on function private.fail_job(bigint, text, text, numeric) is
  'Records a failed attempt: back-off or dead-letter. Returns the new status, or lost when the lease was lost.';

-- Puts dead jobs back in the queue (all, or one kind/subject). Operator tool.
create or replace function private.retry_dead_jobs(only_kind text default null, only_subject uuid default null)
returns integer
language plpgsql
set search_path = ''
as $$
declare
  retried integer;
begin
  with revived as (
    update private.jobs
       set status = 'pending', attempts = 0, run_after = now(), last_error = null
     where status = 'dead'
       and (only_kind is null or kind = only_kind)
       and (only_subject is null or subject_id = only_subject)
    returning kind, subject_id
  ), marked as (
    update public.archived_conversations a set status = 'pending', last_error = null, attempts = 0
      from revived r where r.kind = 'archive_conversation' and a.conversation_id = r.subject_id
  )
  select count(*) into retried from revived;
  if retried > 0 then
    perform private.wake_workers('archive-worker');
  end if;
  return retried;
end
$$;

-- The scheduled sweep: reclaims expired leases and, while due jobs remain,
-- wakes the workers again (pg_net requests can be lost). Reports what it did.
create or replace function private.archive_sweep()
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  reclaimed integer;
  due integer;
  woke bigint;
begin
  with expired as (
    update private.jobs set status = 'pending', locked_by = null, lease_until = null
     where status = 'running' and lease_until < now()
    returning subject_id, kind
  ), marked as (
    update public.archived_conversations a set status = 'pending'
      from expired e where e.kind = 'archive_conversation' and a.conversation_id = e.subject_id and a.status = 'archiving'
  )
  select count(*) into reclaimed from expired;
  select count(*) into due from private.jobs where status = 'pending' and run_after <= now();
  if due > 0 then
    woke := private.wake_workers('archive-worker');
  end if;
  return jsonb_build_object('reclaimed', reclaimed, 'due', due, 'woke', woke is not null);
end
$$;
comment on function private.archive_sweep() is
  'Scheduled: reclaims expired leases and re-wakes workers while jobs are due.';

insert into private.scheduled_jobs (name, schedule, command, description)
values ('strata-archive-sweep', '5 seconds', 'select private.archive_sweep()',
        'Re-wake archive workers for due jobs and reclaim expired leases.')
on conflict (name) do update set schedule = excluded.schedule, command = excluded.command;
select private.sync_scheduled_jobs();
