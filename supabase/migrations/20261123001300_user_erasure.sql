-- Deleting a user from auth.users erases everything of theirs: rows cascade
-- without any archive (this is erasure, not deletion), and a queued job
-- deletes every S3 object under the user's prefixes.

insert into private.job_kinds (kind, description) values
  ('erase_user_objects', 'Delete every S3 object under an erased user''s prefixes.')
on conflict (kind) do nothing;

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
