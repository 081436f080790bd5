-- Generated JSON documents (analyses, transcripts, repair plans). The document
-- lives in S3 at analysis/{yyyy}/{mm}/{user_id}/{id}.json; the row keeps its
-- key, size and sha256. Documents are immutable: users create, read and delete.
-- conversation_id is a plain reference, not a foreign key: an analysis outlives
-- the conversation's archiving and stays linked if the conversation is restored.

create table public.analyses (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  conversation_id uuid,
  kind text not null,
  s3_key text not null,
  size bigint not null,
  sha256 text not null,
  -- The API writes the document to S3 before the row exists, so a row is born stored.
  status text not null default 'stored',
  error text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  -- Set when the owner deleted it: the object goes first (a job), then the row.
  deleted_at timestamptz,
  constraint analyses_kind_check check (kind ~ '^[a-z][a-z0-9_]{0,63}$'),
  constraint analyses_status_check check (status in ('pending', 'stored', 'failed')),
  constraint analyses_size_check check (size >= 0),
  constraint analyses_sha256_check check (sha256 ~ '^[0-9a-f]{64}$'),
  -- [deployment prefix/]analysis/{yyyy}/{mm}/{user_id}/{id}.json (see files_s3_key_check).
  constraint analyses_s3_key_check
    check (s3_key ~ ('^([A-Za-z0-9._-]+/)*analysis/[0-9]{4}/[0-9]{2}/' || user_id::text || '/' || id::text || '\.json$')
           and ('/' || s3_key) !~ '/(files|archived_conversations|analysis)/.*/analysis/'),
  constraint analyses_s3_key_key unique (s3_key)
);
comment on table public.analyses is
  'Metadata of JSON documents (analysis, transcript, repair_plan, ...) stored in S3.';

create index analyses_user_id_created_at_idx on public.analyses (user_id, created_at desc);
create index analyses_user_id_kind_idx on public.analyses (user_id, kind);
create index analyses_conversation_id_idx on public.analyses (conversation_id)
  where conversation_id is not null;

create trigger analyses_set_updated_at
  before update on public.analyses
  for each row execute function private.set_updated_at();

alter table public.analyses enable row level security;

-- Rows are written by the analyses function once the document is in S3.
revoke all on public.analyses from anon, authenticated;
grant select, delete on public.analyses to authenticated;

-- BEFORE INSERT on analyses: the conversation, when named, must be the
-- owner's (live, pending archive or archived); any other id, used or not,
-- gets the same answer. Security definer: sees every conversation and archive.
create or replace function private.analyses_check_conversation()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if new.conversation_id is not null
     and not exists (select 1 from public.conversations c where c.id = new.conversation_id and c.user_id = new.user_id)
     and not exists (select 1 from public.archived_conversations a where a.conversation_id = new.conversation_id and a.user_id = new.user_id) then
    raise exception 'conversation % not found', new.conversation_id using errcode = 'P0002';
  end if;
  return new;
end
$$;
comment on function private.analyses_check_conversation() is
  'BEFORE INSERT trigger on analyses: the referenced conversation must be the owner''s. Security definer: reads every conversation.';

create trigger analyses_check_conversation
  before insert on public.analyses
  for each row execute function private.analyses_check_conversation();

create policy "Analyses are readable by their owner until deleted"
  on public.analyses for select to authenticated
  using (user_id = (select auth.uid()) and deleted_at is null);

create policy "Analyses are deleted by their owner"
  on public.analyses for delete to authenticated
  using (user_id = (select auth.uid()));

-- Deleted S3-first like files (private.s3_backed_before_delete, in the files migration).
insert into private.job_kinds (kind, description) values
  ('delete_analysis', 'Delete an analysis document''s object, then its row.')
on conflict (kind) do nothing;

create trigger analyses_before_delete
  before delete on public.analyses
  for each row execute function private.s3_backed_before_delete();
create trigger analyses_after_delete_statement after delete on public.analyses
  for each statement execute function private.wake_after_statement();
