-- Restoring and permanently deleting an archived conversation. Both take the
-- index row's lock, so when they race exactly one wins and the other finds
-- no archive. Neither touches S3 itself: the object of that exact
-- generation is deleted by a job that names its key (restore: once the rows
-- are back; permanent delete: before the index row goes), so a late step can
-- never delete a newer archive of the same conversation.

-- Restore: the archive function downloads the object and hands its exact
-- JSON text here; it is checked against the sha256 recorded at archive time
-- (a corrupted or forged document is refused and nothing is written), then
-- the conversation and its messages come back with the same ids and values,
-- in one transaction, the index row goes and the object's deletion is queued.
-- The caller must own the archive. Security definer: writes server-owned
-- columns, the index and the job queue.
create or replace function public.restore_archived_conversation(archive_text text)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  uid uuid := (select auth.uid());
  doc jsonb;
  conversation jsonb;
  target uuid;
  archive public.archived_conversations;
  restored integer;
begin
  if uid is null then
    raise exception 'restoring an archive needs a signed-in user' using errcode = '42501';
  end if;
  begin
    doc := archive_text::jsonb;
    conversation := doc -> 'conversation';
    target := (conversation ->> 'id')::uuid;
  exception when others then
    raise exception 'the archive is not a valid archive document' using errcode = 'SA001';
  end;
  if target is null or jsonb_typeof(doc -> 'messages') is distinct from 'array' then
    raise exception 'the archive is not a valid archive document' using errcode = 'SA001';
  end if;

  select * into archive from public.archived_conversations a
   where a.conversation_id = target and a.user_id = uid
   for update;
  -- Being deleted for good is the same as gone.
  if not found or archive.status = 'deleting' then
    raise exception 'archive % not found', target using errcode = 'P0002';
  end if;
  if archive.status <> 'stored' then
    raise exception 'archive % is not stored yet (%)', target, archive.status using errcode = 'SA002';
  end if;
  if encode(sha256(convert_to(archive_text, 'UTF8')), 'hex') is distinct from archive.sha256 then
    raise exception 'archive % does not match its checksum', target using errcode = 'SA001';
  end if;
  if exists (select 1 from public.conversations c where c.id = target) then
    raise exception 'conversation % already exists', target using errcode = '23505';
  end if;
  if exists (select 1 from jsonb_array_elements(doc -> 'messages') m
              where (m ->> 'conversation_id')::uuid is distinct from target) then
    raise exception 'the archive holds messages of another conversation' using errcode = 'SA001';
  end if;

  -- The index row goes first: new rows may not take an archived id.
  delete from public.archived_conversations a where a.conversation_id = target;
  -- The pass lets the archived values back in even if the limits were lowered since.
  perform private.open_gate('restore', target);
  -- updated_at = now() while the messages go in (so they do not bump it),
  -- then the archived value.
  insert into public.conversations
  select (jsonb_populate_record(null::public.conversations,
            conversation || jsonb_build_object(
              'user_id', uid,
              'deleted_at', null,
              'updated_at', now(),
              -- An expiry already past would hide the restored conversation at once.
              'expires_at', case when (conversation ->> 'expires_at')::timestamptz > now()
                                 then conversation -> 'expires_at' end))).*;
  insert into public.messages
  select (jsonb_populate_record(null::public.messages, m || jsonb_build_object('user_id', uid))).*
    from jsonb_array_elements(doc -> 'messages') m;
  get diagnostics restored = row_count;
  update public.conversations c set updated_at = (conversation ->> 'updated_at')::timestamptz where c.id = target;
  perform private.close_gate('restore', target);
  perform private.enqueue_job('delete_archive_object', archive.generation, uid,
                              jsonb_build_object('s3_key', archive.s3_key, 'conversation_id', target));
  perform private.wake_workers('archive-worker');
  return jsonb_build_object('conversation_id', target, 'message_count', restored);
end
$$;
comment on function public.restore_archived_conversation(text) is
  'Restores the caller''s stored archive from its exact JSON text (checked against the stored sha256) and queues deletion of that object. Security definer: writes server-owned columns, the index and jobs.';
revoke execute on function public.restore_archived_conversation(text) from public, anon;
grant execute on function public.restore_archived_conversation(text) to authenticated, service_role;

-- Permanent delete: the caller's stored archive becomes 'deleting' (gone
-- from their reads at once) and a job deletes its object, every version,
-- then the index row. Security definer: writes the index and the job queue.
create or replace function public.delete_archived_conversation(target uuid)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  uid uuid := (select auth.uid());
  archive public.archived_conversations;
begin
  if uid is null then
    raise exception 'deleting an archive needs a signed-in user' using errcode = '42501';
  end if;
  select * into archive from public.archived_conversations a
   where a.conversation_id = target and a.user_id = uid
   for update;
  if not found or archive.status = 'deleting' then
    raise exception 'archive % not found', target using errcode = 'P0002';
  end if;
  if archive.status <> 'stored' then
    raise exception 'archive % is not stored yet (%)', target, archive.status using errcode = 'SA002';
  end if;
  update public.archived_conversations a set status = 'deleting' where a.conversation_id = target;
  perform private.enqueue_job('delete_archive_object', archive.generation, uid,
                              jsonb_build_object('s3_key', archive.s3_key, 'conversation_id', target));
  perform private.wake_workers('archive-worker');
  return jsonb_build_object('conversation_id', target, 'status', 'deleting');
end
$$;
comment on function public.delete_archived_conversation(uuid) is
  'Permanently deletes the caller''s stored archive: S3 object first (a job), then the index row. Security definer: writes the index and jobs.';
revoke execute on function public.delete_archived_conversation(uuid) from public, anon;
grant execute on function public.delete_archived_conversation(uuid) to authenticated, service_role;
