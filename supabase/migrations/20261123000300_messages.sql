-- Messages of a conversation. (conversation_id, user_id) references the
-- conversation's (id, user_id), so a message always has its conversation's
-- owner, and messages cascade when the conversation row is finally removed.
-- New messages are refused once the conversation is pending archive.

create table public.messages (
  id uuid primary key default gen_random_uuid(),
  conversation_id uuid not null,
  user_id uuid not null default auth.uid(),
  role text not null,
  content text not null default '',
  metadata jsonb not null default '{}'::jsonb,
  model text,
  tokens integer,
  duration_ms integer,
  feedback text,
  -- clock_timestamp: messages written in one transaction keep their order.
  created_at timestamptz not null default clock_timestamp(),
  constraint messages_conversation_fkey foreign key (conversation_id, user_id)
    references public.conversations (id, user_id) on delete cascade,
  constraint messages_role_check check (role in ('user', 'assistant', 'system', 'tool')),
  constraint messages_feedback_check check (feedback is null or feedback in ('positive', 'negative')),
  constraint messages_metadata_is_object check (jsonb_typeof(metadata) = 'object'),
  constraint messages_tokens_check check (tokens is null or tokens >= 0),
  constraint messages_duration_ms_check check (duration_ms is null or duration_ms >= 0),
  constraint messages_model_check check (model is null or char_length(model) <= 200)
);
comment on table public.messages is
  'Messages of a conversation; metadata holds tool calls and other structured data.';
comment on column public.messages.duration_ms is 'Generation time of the message in milliseconds.';

-- History reads: a conversation's messages in order, newest first by scanning backwards.
create index messages_conversation_id_created_at_idx
  on public.messages (conversation_id, created_at, id);
-- The policies filter on user_id; user erasure finds rows by it too.
create index messages_user_id_idx on public.messages (user_id);

-- Locks the conversation row, refuses the message when the conversation is
-- pending archive (or missing, or another user's: the same error), enforces
-- the message limits of private.settings, and refreshes the conversation's
-- updated_at. The row lock orders this insert against a concurrent delete:
-- either the message commits first and is archived with the conversation, or
-- it sees deleted_at and fails. A restore (gate pass) brings back what was
-- archived even if the limits have since been lowered.
-- Security definer: the caller cannot see deleted rows, read the settings
-- nor write updated_at.
create or replace function private.messages_before_insert()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  conversation_deleted_at timestamptz;
  conversation_updated_at timestamptz;
  s private.settings := private.current_settings();
begin
  select c.deleted_at, c.updated_at
    into conversation_deleted_at, conversation_updated_at
    from public.conversations c
   where c.id = new.conversation_id and c.user_id = new.user_id
     for no key update;
  if not found or conversation_deleted_at is not null then
    raise exception 'conversation % not found', new.conversation_id
      using errcode = 'P0002',
            hint = 'The conversation does not exist, is not yours, or is being archived.';
  end if;
  if (octet_length(new.content) > s.message_max_content_bytes
      or octet_length(new.metadata::text) > s.message_max_metadata_bytes
      or private.json_depth_exceeds(new.metadata, s.json_max_depth))
     and not private.gate_open('restore', new.conversation_id) then
    if octet_length(new.content) > s.message_max_content_bytes then
      raise exception 'message content is larger than % bytes', s.message_max_content_bytes using errcode = 'SA004';
    elsif octet_length(new.metadata::text) > s.message_max_metadata_bytes then
      raise exception 'message metadata is larger than % bytes', s.message_max_metadata_bytes using errcode = 'SA004';
    end if;
    raise exception 'message metadata is nested deeper than % levels', s.json_max_depth using errcode = 'SA005';
  end if;
  -- Once per transaction (now() is its start); a restore inserts its
  -- conversation with updated_at = now() and writes the archived value last.
  if conversation_updated_at < now() then
    update public.conversations set updated_at = now() where id = new.conversation_id;
  end if;
  return new;
end
$$;
comment on function private.messages_before_insert() is
  'BEFORE INSERT trigger on messages: refuses messages to deleted or foreign conversations, enforces message limits, bumps updated_at. Security definer to read deleted rows and settings and write updated_at.';

create trigger messages_before_insert
  before insert on public.messages
  for each row execute function private.messages_before_insert();

alter table public.messages enable row level security;

revoke all on public.messages from anon, authenticated;
grant select, delete on public.messages to authenticated;
-- Ids are the server's to choose (a chosen id could probe another user's),
-- and user_id is the caller's (its default, auth.uid()): the insert trigger
-- runs before RLS, so a chosen owner could probe another user's conversation.
grant insert (conversation_id, role, content, metadata, model, tokens, duration_ms, feedback)
  on public.messages to authenticated;
grant update (feedback) on public.messages to authenticated;

-- The conversations subquery runs under the caller's RLS, so messages of a
-- deleted, expired or foreign conversation are out of reach; the composite
-- foreign key makes the message's owner the conversation's. A user_id test
-- here would be redundant, and it leads the planner to read every message of
-- the user through messages_user_id_idx instead of the last few of one
-- conversation (bench/history).
create policy "Messages are readable by their owner in a live conversation"
  on public.messages for select to authenticated
  using (exists (select 1 from public.conversations c where c.id = conversation_id));

create policy "Messages are added by their owner to a live conversation"
  on public.messages for insert to authenticated
  with check (
    user_id = (select auth.uid())
    and exists (select 1 from public.conversations c where c.id = conversation_id)
  );

create policy "Messages are updated by their owner in a live conversation"
  on public.messages for update to authenticated
  using (
    user_id = (select auth.uid())
    and exists (select 1 from public.conversations c where c.id = conversation_id)
  )
  with check (user_id = (select auth.uid()));

create policy "Messages are deleted by their owner in a live conversation"
  on public.messages for delete to authenticated
  using (
    user_id = (select auth.uid())
    and exists (select 1 from public.conversations c where c.id = conversation_id)
  );
