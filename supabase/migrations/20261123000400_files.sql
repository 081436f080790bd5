-- Uploaded files (PDF, text, JSON). Only metadata and the S3 key live here;
-- the bytes live in S3 under files/{user_id}/{file_id}/{safe_name}. The key
-- check ties every row to its owner's prefix, so a row can never point at
-- another user's object whoever wrote it.

create table public.files (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  name text not null,
  original_name text not null,
  size bigint not null,
  content_type text not null,
  s3_key text not null,
  sha256 text,
  status text not null default 'pending_upload',
  document_type text,
  language text,
  word_count integer,
  page_count integer,
  error text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  uploaded_at timestamptz,
  processed_at timestamptz,
  constraint files_status_check
    check (status in ('pending_upload', 'uploaded', 'processing', 'processed', 'failed')),
  constraint files_size_check check (size >= 0),
  constraint files_name_check check (length(name) between 1 and 255),
  constraint files_sha256_check check (sha256 is null or sha256 ~ '^[0-9a-f]{64}$'),
  constraint files_counts_check check (coalesce(word_count, 0) >= 0 and coalesce(page_count, 0) >= 0),
  constraint files_s3_key_check
    check (s3_key ~ ('(^|/)files/' || user_id::text || '/' || id::text || '/[^/]+$')),
  constraint files_s3_key_key unique (s3_key)
);
comment on table public.files is 'Metadata of files stored in S3; never their contents.';

create index files_user_id_created_at_idx on public.files (user_id, created_at desc);
-- Processing picks up uploaded files; the partial index stays small.
create index files_status_idx on public.files (status)
  where status in ('uploaded', 'processing');

create trigger files_set_updated_at
  before update on public.files
  for each row execute function private.set_updated_at();

alter table public.files enable row level security;

-- Status, counts and errors are written by the server (service role).
revoke all on public.files from anon, authenticated;
grant select, delete on public.files to authenticated;
grant insert (id, user_id, name, original_name, size, content_type, s3_key, sha256)
  on public.files to authenticated;
grant update (name) on public.files to authenticated;

create policy "Files are readable by their owner"
  on public.files for select to authenticated
  using (user_id = (select auth.uid()));

create policy "Files are created by their owner"
  on public.files for insert to authenticated
  with check (user_id = (select auth.uid()));

create policy "Files are renamed by their owner"
  on public.files for update to authenticated
  using (user_id = (select auth.uid()))
  with check (user_id = (select auth.uid()));

create policy "Files are deleted by their owner"
  on public.files for delete to authenticated
  using (user_id = (select auth.uid()));
