-- Usage statistics. A user's own numbers include conversations that expired
-- but were not swept yet, which RLS hides from them, hence security definer
-- scoped to auth.uid(). The project-wide numbers are for the service role.
-- Both answers also carry the names the seed's users know, with the same
-- values: total_conversations (= conversations, the live ones),
-- total_messages (= messages) and ttl_hours (= default_ttl_hours);
-- expired_conversations has that name in both.

create or replace function public.conversation_stats()
returns jsonb
language sql
stable
security definer
set search_path = ''
as $$
  select jsonb_build_object(
    'conversations', count(*) filter (where c.expires_at is null or c.expires_at > now()),
    'messages', coalesce(sum(mc.n) filter (where c.expires_at is null or c.expires_at > now()), 0),
    'expired_conversations', count(*) filter (where c.expires_at <= now()),
    'default_ttl_hours', (select s.default_ttl_hours from private.settings s),
    'expiry_policy', (select s.expiry_policy from private.settings s),
    'total_conversations', count(*) filter (where c.expires_at is null or c.expires_at > now()),
    'total_messages', coalesce(sum(mc.n) filter (where c.expires_at is null or c.expires_at > now()), 0),
    'ttl_hours', (select s.default_ttl_hours from private.settings s)
  )
  from public.conversations c
  cross join lateral (select count(*) as n from public.messages m where m.conversation_id = c.id) mc
  where c.user_id = (select auth.uid()) and c.deleted_at is null
$$;
comment on function public.conversation_stats() is
  'The caller''s conversation, message and expired counts and the TTL settings (also as total_conversations, total_messages, ttl_hours). Security definer: counts expired rows RLS hides; scoped to auth.uid().';
revoke execute on function public.conversation_stats() from public, anon;
grant execute on function public.conversation_stats() to authenticated;

create or replace function private.project_conversation_stats()
returns jsonb
language sql
stable
set search_path = ''
as $$
  with live as (
    select c.id, c.expires_at from public.conversations c where c.deleted_at is null
  ), counts as (
    select count(*) filter (where expires_at is null or expires_at > now()) as conversations,
           count(*) filter (where expires_at <= now()) as expired
      from live
  ), by_role as (
    select m.role, count(*) as n from public.messages m join live l on l.id = m.conversation_id group by m.role
  )
  select jsonb_build_object(
    'conversations', counts.conversations,
    'messages', coalesce((select sum(n) from by_role), 0),
    'expired_conversations', counts.expired,
    'pending_archives', (select count(*) from public.conversations c where c.deleted_at is not null),
    'users', (select count(distinct c.user_id) from public.conversations c where c.deleted_at is null),
    'messages_by_role', coalesce((select jsonb_object_agg(role, n) from by_role), '{}'::jsonb),
    'average_messages_per_conversation',
      case when counts.conversations + counts.expired = 0 then 0
           else round(coalesce((select sum(n) from by_role), 0)::numeric / (counts.conversations + counts.expired), 2) end,
    'default_ttl_hours', (select s.default_ttl_hours from private.settings s),
    'expiry_policy', (select s.expiry_policy from private.settings s),
    'total_conversations', counts.conversations,
    'total_messages', coalesce((select sum(n) from by_role), 0),
    'ttl_hours', (select s.default_ttl_hours from private.settings s)
  )
  from counts
$$;
comment on function private.project_conversation_stats() is
  'Project-wide conversation statistics, messages by role and average length (also under the seed names). Service role only.';
