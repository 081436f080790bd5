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
  -- Set when the owner deleted it: the objects go first (a job), then the row.
  deleted_at timestamptz,
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

create policy "Files are readable by their owner until deleted"
  on public.files for select to authenticated
  using (user_id = (select auth.uid()) and deleted_at is null);

create policy "Files are renamed by their owner"
  on public.files for update to authenticated
  using (user_id = (select auth.uid()))
  with check (user_id = (select auth.uid()));

create policy "Files are deleted by their owner"
  on public.files for delete to authenticated
  using (user_id = (select auth.uid()));

-- Files, like conversations, are deleted S3-first: a DELETE marks the row
-- (the owner no longer sees it) and queues a job that removes the S3
-- object(s) and then the row, retried until both are gone, so there are
-- neither orphan objects nor dangling rows. Uploaded files are processed
-- (text extraction, counts, language) by a job too.
insert into private.job_kinds (kind, description) values
  ('process_file', 'Extract the text of an uploaded file, count pages and words, guess the language.'),
  ('delete_file', 'Delete a file''s objects (upload, staging, derived text), then its row.')
on conflict (kind) do nothing;

-- BEFORE UPDATE on files: only the server changes a file's status (the API
-- roles have no grant on the column; this holds even if one were added).
-- Reaching uploaded queues the processing job.
-- Security definer: writes private.jobs.
create or replace function private.files_before_update()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if new.status is distinct from old.status then
    -- The role the statement runs as (PostgREST sets it per request); a
    -- security definer function does not change it, and no session can set
    -- it to a role it is not a member of.
    if current_setting('role', true) in ('anon', 'authenticated') then
      raise exception 'only the server may change a file''s status' using errcode = '42501';
    end if;
    if new.status = 'uploaded' then
      new.uploaded_at := coalesce(new.uploaded_at, now());
      perform private.enqueue_job('process_file', new.id, new.user_id);
    end if;
  end if;
  return new;
end
$$;
comment on function private.files_before_update() is
  'BEFORE UPDATE trigger on files: only the server changes status; uploaded queues processing. Security definer: writes jobs.';

create trigger files_before_update
  before update on public.files
  for each row execute function private.files_before_update();

-- The gate shared by files and analyses: lets the delete through in the
-- worker's completing transaction or during erasure of the owner; otherwise
-- marks the row deleted, queues the S3-first delete job and cancels.
create or replace function private.s3_backed_before_delete()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  job_kind text := case tg_table_name when 'files' then 'delete_file' else 'delete_analysis' end;
begin
  if private.gate_open(case tg_table_name when 'files' then 'delete_file' else 'delete_analysis' end, old.id)
     or private.gate_open('erase_user', old.user_id) then
    return old;
  end if;
  if old.deleted_at is null then
    execute format('update public.%I set deleted_at = now() where id = $1', tg_table_name) using old.id;
  end if;
  perform private.enqueue_job(job_kind, old.id, old.user_id);
  return null;
end
$$;
comment on function private.s3_backed_before_delete() is
  'BEFORE DELETE trigger on files and analyses: S3 object first, then the row (via a job). Security definer: writes jobs.';

create trigger files_before_delete
  before delete on public.files
  for each row execute function private.s3_backed_before_delete();

-- One wake-up per statement that queued jobs (deletes, or uploads completed).
create trigger files_after_delete_statement after delete on public.files
  for each statement execute function private.wake_after_statement();
create trigger files_after_update_statement after update on public.files
  for each statement execute function private.wake_after_statement();

-- Finishes a file or analysis delete once its objects are gone: the row goes
-- in the same transaction as the job. Worker only.
create or replace function private.complete_delete(job_id bigint, worker text, target_table text, target_id uuid)
returns boolean
language plpgsql
set search_path = ''
as $$
begin
  if target_table not in ('files', 'analyses') then
    raise exception 'unknown table %', target_table;
  end if;
  update private.jobs j set status = 'done', finished_at = now(), lease_until = null, last_error = null
   where j.id = job_id and j.status = 'running' and j.locked_by = worker;
  if not found then
    return false;
  end if;
  perform private.open_gate(case target_table when 'files' then 'delete_file' else 'delete_analysis' end, target_id);
  execute format('delete from public.%I where id = $1', target_table) using target_id;
  perform private.close_gate(case target_table when 'files' then 'delete_file' else 'delete_analysis' end, target_id);
  return true;
end
$$;
comment on function private.complete_delete(bigint, text, text, uuid) is
  'Deletes a file or analysis row after its S3 objects are gone, finishing its job. Worker only.';

-- Job hook: a processing job that dead-letters marks its file failed, with the error.
create or replace function private.files_job_dead()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  update public.files set status = 'failed', error = new.last_error
   where id = new.subject_id and deleted_at is null and status in ('uploaded', 'processing');
  return null;
end
$$;
comment on function private.files_job_dead() is
  'AFTER UPDATE trigger on private.jobs (process_file): a dead-lettered job fails its file.';

create trigger files_job_dead
  after update of status on private.jobs
  for each row when (new.kind = 'process_file' and new.status = 'dead' and old.status is distinct from 'dead')
  execute function private.files_job_dead();
