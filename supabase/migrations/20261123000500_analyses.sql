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
  status text not null default 'pending',
  error text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint analyses_kind_check check (kind ~ '^[a-z][a-z0-9_]{0,63}$'),
  constraint analyses_status_check check (status in ('pending', 'stored', 'failed')),
  constraint analyses_size_check check (size >= 0),
  constraint analyses_sha256_check check (sha256 ~ '^[0-9a-f]{64}$'),
  constraint analyses_s3_key_check
    check (s3_key ~ ('(^|/)analysis/[0-9]{4}/[0-9]{2}/' || user_id::text || '/' || id::text || '\.json$')),
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

revoke all on public.analyses from anon, authenticated;
grant select, delete on public.analyses to authenticated;
grant insert (id, user_id, conversation_id, kind, s3_key, size, sha256)
  on public.analyses to authenticated;

create policy "Analyses are readable by their owner"
  on public.analyses for select to authenticated
  using (user_id = (select auth.uid()));

create policy "Analyses are created by their owner"
  on public.analyses for insert to authenticated
  with check (user_id = (select auth.uid()));

create policy "Analyses are deleted by their owner"
  on public.analyses for delete to authenticated
  using (user_id = (select auth.uid()));
