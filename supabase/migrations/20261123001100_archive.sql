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

insert into private.job_kinds (kind, description) values
  ('archive_conversation', 'Write a deleted conversation''s archive to S3, then remove its rows.'),
  ('delete_archive_object', 'Delete exactly one archive generation''s object (restored, deleted for good, or unowned).')
on conflict (kind) do nothing;

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
  -- The job names the generation: every attempt writes that one key.
  perform private.enqueue_job('archive_conversation', old.id, old.user_id,
    jsonb_build_object('generation', (select a.generation from public.archived_conversations a where a.conversation_id = old.id)));
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

-- One wake-up per statement that queued archive jobs (private.wake_after_statement).
create trigger conversations_after_delete_statement
  after delete on public.conversations
  for each statement execute function private.wake_after_statement();

-- Job hook: the index row follows its archive job. Claimed: 'archiving';
-- back to the queue (retry, reclaimed lease, released, retried by hand):
-- 'pending' with the last error; dead-lettered: 'failed'. A stored or
-- deleting row is never touched.
create or replace function private.archive_job_status()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  update public.archived_conversations a
     set status = case new.status when 'running' then 'archiving' when 'dead' then 'failed' else 'pending' end,
         attempts = new.attempts,
         last_error = new.last_error
   where a.conversation_id = new.subject_id and a.status in ('pending', 'archiving', 'failed');
  return null;
end
$$;
comment on function private.archive_job_status() is
  'AFTER UPDATE trigger on private.jobs (archive_conversation): keeps the index row''s state in step with its job.';

create trigger archive_job_status
  after update of status on private.jobs
  for each row when (new.kind = 'archive_conversation' and new.status in ('pending', 'running', 'dead')
                     and old.status is distinct from new.status)
  execute function private.archive_job_status();

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
