-- Restoring an archived conversation: the archive function downloads the
-- object and hands its exact JSON text to this function, which checks it
-- against the sha256 recorded at archive time (so a corrupted or forged
-- document is refused and nothing is written), then puts the conversation and
-- its messages back with the same ids and values, in one transaction, and
-- drops the index row. The caller must own the archive.

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
  if not found then
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
  perform set_config('strata.restoring', 'on', true);
  insert into public.conversations
  select (jsonb_populate_record(null::public.conversations,
            conversation || jsonb_build_object(
              'user_id', uid,
              'deleted_at', null,
              -- An expiry already past would hide the restored conversation at once.
              'expires_at', case when (conversation ->> 'expires_at')::timestamptz > now()
                                 then conversation -> 'expires_at' end))).*;
  insert into public.messages
  select (jsonb_populate_record(null::public.messages, m || jsonb_build_object('user_id', uid))).*
    from jsonb_array_elements(doc -> 'messages') m;
  get diagnostics restored = row_count;
  perform set_config('strata.restoring', '', true);
  return jsonb_build_object('conversation_id', target, 'message_count', restored, 's3_key', archive.s3_key);
end
$$;
comment on function public.restore_archived_conversation(text) is
  'Restores the caller''s stored archive from its exact JSON text (checked against the stored sha256). Security definer: writes server-owned columns and the index.';
revoke execute on function public.restore_archived_conversation(text) from public, anon;
grant execute on function public.restore_archived_conversation(text) to authenticated, service_role;
