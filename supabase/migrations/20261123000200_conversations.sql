-- Conversations: the hot, per-user chat threads. A row with deleted_at set is
-- a pending archive: invisible to its owner, closed to new messages, removed
-- only once its archive is stored (see the archive migrations). expires_at is
-- the TTL; an expired conversation is invisible to its owner at once.

create table public.conversations (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  title text,
  metadata jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  expires_at timestamptz,
  deleted_at timestamptz,
  constraint conversations_metadata_is_object check (jsonb_typeof(metadata) = 'object'),
  -- Lets messages reference (conversation, owner) so a message can never
  -- belong to a conversation of another user.
  constraint conversations_id_user_id_key unique (id, user_id)
);
comment on table public.conversations is
  'Chat conversations. deleted_at marks a pending archive; expires_at is the TTL.';

-- A user's list ordered by recency; also serves every policy's user_id filter.
create index conversations_user_id_updated_at_idx
  on public.conversations (user_id, updated_at desc, id desc);
-- The expiry sweep looks only at rows that can expire and are still live.
create index conversations_expires_at_idx
  on public.conversations (expires_at)
  where expires_at is not null and deleted_at is null;

-- Marking a conversation deleted is not an edit: its archive keeps the
-- updated_at the owner last saw, and a restore brings back the same row.
-- An update that sets updated_at itself is Strata's own (the API roles have
-- no grant on the column): a new message, or a restore writing the archived value.
create trigger conversations_set_updated_at
  before update on public.conversations
  for each row when (old.deleted_at is not distinct from new.deleted_at
                     and old.updated_at is not distinct from new.updated_at)
  execute function private.set_updated_at();

-- The limits every client meets (private.settings): a finite expiry no
-- further than max_ttl_hours from now, the title length, and metadata size
-- and nesting. A restore (gate pass) brings back what was archived as it was.
-- Security definer: reads private.settings.
create or replace function private.conversations_check_limits()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  s private.settings := private.current_settings();
begin
  if tg_op = 'INSERT' and private.gate_open('restore', new.id) then
    return new;
  end if;
  if new.expires_at is not null and (tg_op = 'INSERT' or new.expires_at is distinct from old.expires_at) then
    if not isfinite(new.expires_at) or new.expires_at > now() + make_interval(hours => s.max_ttl_hours) then
      raise exception 'expires_at may be at most % hours from now', s.max_ttl_hours
        using errcode = 'SA003', hint = 'Ask for a shorter TTL.';
    end if;
  end if;
  if char_length(new.title) > s.conversation_max_title_chars then
    raise exception 'title is longer than % characters', s.conversation_max_title_chars using errcode = '22001';
  end if;
  if tg_op = 'INSERT' or new.metadata is distinct from old.metadata then
    if octet_length(new.metadata::text) > s.message_max_metadata_bytes then
      raise exception 'metadata is larger than % bytes', s.message_max_metadata_bytes using errcode = 'SA004';
    end if;
    if private.json_depth_exceeds(new.metadata, s.json_max_depth) then
      raise exception 'metadata is nested deeper than % levels', s.json_max_depth using errcode = 'SA005';
    end if;
  end if;
  return new;
end
$$;
comment on function private.conversations_check_limits() is
  'BEFORE INSERT/UPDATE trigger on conversations: TTL cap, title length, metadata size and depth. Security definer: reads private.settings.';

create trigger conversations_check_limits
  before insert or update of expires_at, title, metadata on public.conversations
  for each row execute function private.conversations_check_limits();

alter table public.conversations enable row level security;

-- Supabase's defaults grant everything to the API roles; narrow that to what
-- a user may touch. Ids, deleted_at and timestamps are the server's to set:
-- a client choosing ids could probe whether someone else's id exists.
revoke all on public.conversations from anon, authenticated;
grant select, delete on public.conversations to authenticated;
-- user_id comes from its default, auth.uid().
grant insert (title, metadata, expires_at) on public.conversations to authenticated;
grant update (title, metadata, expires_at) on public.conversations to authenticated;

create policy "Conversations are readable by their owner while live"
  on public.conversations for select to authenticated
  using (
    user_id = (select auth.uid())
    and deleted_at is null
    and (expires_at is null or expires_at > now())
  );

create policy "Conversations are created by their owner"
  on public.conversations for insert to authenticated
  with check (user_id = (select auth.uid()) and deleted_at is null);

create policy "Conversations are updated by their owner while live"
  on public.conversations for update to authenticated
  using (
    user_id = (select auth.uid())
    and deleted_at is null
    and (expires_at is null or expires_at > now())
  )
  with check (user_id = (select auth.uid()));

create policy "Conversations are deleted by their owner"
  on public.conversations for delete to authenticated
  using (user_id = (select auth.uid()) and deleted_at is null);
