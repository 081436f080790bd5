-- Deleting a user from auth.users erases everything of theirs: rows cascade
-- without any archive (this is erasure, not deletion), and a queued job
-- deletes every S3 object under the user's prefixes.

-- BEFORE DELETE on auth.users: gives this transaction an erasure pass for
-- the user, so the delete gates let the cascades through, and queues the S3
-- erasure job. Only roles that may delete from auth.users (GoTrue, the
-- service role, postgres) reach it. Security definer: writes private tables.
create or replace function private.users_before_delete()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform private.open_gate('erase_user', old.id);
  perform private.enqueue_job('erase_user_objects', old.id, old.id);
  return old;
end
$$;
comment on function private.users_before_delete() is
  'BEFORE DELETE trigger on auth.users: marks the erasure and queues deletion of the user''s S3 objects.';

create trigger strata_users_before_delete
  before delete on auth.users
  for each row execute function private.users_before_delete();

create trigger strata_users_after_delete_statement
  after delete on auth.users
  for each statement execute function private.wake_after_statement();

-- Claims jobs of one kind (erasure, files, S3-first deletes) the same way as archive jobs.
create or replace function private.claim_jobs(job_kind text, worker text, batch_size integer, lease_seconds integer)
returns table (job_id bigint, subject_id uuid, user_id uuid, attempts integer, max_attempts integer, payload jsonb)
language sql
set search_path = ''
as $$
  with claimable as (
    select j.id from private.jobs j
     where j.kind = job_kind
       and ((j.status = 'pending' and j.run_after <= now())
         or (j.status = 'running' and j.lease_until < now()))
     order by j.run_after, j.id
     limit batch_size
     for update skip locked
  )
  update private.jobs j
     set status = 'running', attempts = j.attempts + 1, locked_by = worker,
         lease_until = now() + make_interval(secs => lease_seconds)
    from claimable c where j.id = c.id
  returning j.id, j.subject_id, j.user_id, j.attempts, j.max_attempts, j.payload
$$;
