-- Uploaded files (PDF, text, JSON). Only metadata and the S3 key live here;
-- the bytes live in S3 under files/{user_id}/{file_id}/{safe_name}. The key
-- check ties every row to its owner's prefix, so a row can never point at
-- another user's object whoever wrote it. Rows are written by the files
-- function (after it has checked the request) and by the worker: a file row
-- without its verified object is meaningless, so users read, rename and
-- delete them but never insert them or set their status.

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
  -- [deployment prefix/]files/{user_id}/{id}/{safe name}; the prefix may not
  -- itself hold one of Strata's folders (no files/<other user>/x/files/<me>/...).
  constraint files_s3_key_check
    check (s3_key ~ ('^([A-Za-z0-9._-]+/)*files/' || user_id::text || '/' || id::text || '/[A-Za-z0-9._-]{1,100}$')
           and ('/' || s3_key) !~ '/(files|archived_conversations|analysis)/.*/files/'),
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

-- Rows, status, counts and errors are written by the server.
revoke all on public.files from anon, authenticated;
grant select, delete on public.files to authenticated;
grant update (name) on public.files to authenticated;

-- Pending uploads of one user, for the quota below.
create index files_user_id_pending_idx on public.files (user_id) where status = 'pending_upload';

-- BEFORE INSERT on files: the size cap, the accepted content types and the
-- per-user quota of pending uploads (count and declared bytes), from
-- private.settings. A per-user advisory lock makes the quota hold under
-- concurrent inserts. Security definer: reads private.settings.
create or replace function private.files_check_limits()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  s private.settings := private.current_settings();
  pending_count integer;
  pending_bytes bigint;
begin
  if new.size > s.file_max_bytes then
    raise exception 'files may be at most % bytes', s.file_max_bytes using errcode = 'SA004';
  end if;
  if not (new.content_type = any (s.file_allowed_types)) then
    raise exception 'content type % is not accepted', new.content_type using errcode = 'SA007';
  end if;
  if new.status = 'pending_upload' then
    perform pg_advisory_xact_lock(hashtextextended('strata.files.' || new.user_id::text, 0));
    select count(*), coalesce(sum(f.size), 0) into pending_count, pending_bytes
      from public.files f where f.user_id = new.user_id and f.status = 'pending_upload';
    if pending_count + 1 > s.max_pending_uploads or pending_bytes + new.size > s.max_pending_upload_bytes then
      raise exception 'too many pending uploads (% of %, % of % bytes)',
        pending_count, s.max_pending_uploads, pending_bytes, s.max_pending_upload_bytes
        using errcode = 'SA006', hint = 'Complete or delete pending uploads first.';
    end if;
  end if;
  return new;
end
$$;
comment on function private.files_check_limits() is
  'BEFORE INSERT trigger on files: size cap, content types, per-user pending-upload quota. Security definer: reads private.settings.';

create trigger files_check_limits
  before insert on public.files
  for each row execute function private.files_check_limits();

create policy "Files are readable by their owner"
  on public.files for select to authenticated
  using (user_id = (select auth.uid()));

create policy "Files are renamed by their owner"
  on public.files for update to authenticated
  using (user_id = (select auth.uid()))
  with check (user_id = (select auth.uid()));

create policy "Files are deleted by their owner"
  on public.files for delete to authenticated
  using (user_id = (select auth.uid()));
