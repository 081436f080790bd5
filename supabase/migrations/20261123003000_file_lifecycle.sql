-- Files and analysis documents, like conversations, are deleted S3-first:
-- a DELETE marks the row (the owner no longer sees it) and queues a job that
-- removes the S3 object(s) and then the row, retried until both are gone, so
-- there are neither orphan objects nor dangling rows. Uploaded files are
-- processed (text extraction, counts, language) by a job too.

alter table public.files add column deleted_at timestamptz;
-- The analyses API writes the document to S3 before the row exists, so a row
-- is born stored.
alter table public.analyses alter column status set default 'stored';
alter table public.analyses add column deleted_at timestamptz;

-- Owners no longer see a file or document being deleted.
drop policy "Files are readable by their owner" on public.files;
create policy "Files are readable by their owner until deleted"
  on public.files for select to authenticated
  using (user_id = (select auth.uid()) and deleted_at is null);
drop policy "Analyses are readable by their owner" on public.analyses;
create policy "Analyses are readable by their owner until deleted"
  on public.analyses for select to authenticated
  using (user_id = (select auth.uid()) and deleted_at is null);

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
create trigger analyses_before_delete
  before delete on public.analyses
  for each row execute function private.s3_backed_before_delete();

-- One wake-up per statement that queued jobs (deletes, or uploads completed).
create trigger files_after_delete_statement after delete on public.files
  for each statement execute function private.wake_after_statement();
create trigger files_after_update_statement after update on public.files
  for each statement execute function private.wake_after_statement();
create trigger analyses_after_delete_statement after delete on public.analyses
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
