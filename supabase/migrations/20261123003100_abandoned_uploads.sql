-- A file row whose upload never arrived (the browser gave up, or the direct
-- upload failed after the row was written) would stay in pending_upload for
-- ever. An hourly job removes such rows, the S3-first way (any partial object
-- under the file's folder goes too), once the upload URL is long expired.

create or replace function private.expire_abandoned_uploads(older_than interval default interval '24 hours')
returns integer
language plpgsql
set search_path = ''
as $$
declare
  abandoned uuid[];
begin
  select array_agg(f.id) into abandoned from public.files f
   where f.status = 'pending_upload' and f.deleted_at is null and f.created_at < now() - older_than;
  if abandoned is null then
    return 0;
  end if;
  -- The delete gate turns these into delete_file jobs (one wake-up).
  -- Still abandoned at delete time: a complete committed meanwhile keeps its file.
  delete from public.files where id = any (abandoned) and status = 'pending_upload' and deleted_at is null;
  return cardinality(abandoned);
end
$$;
comment on function private.expire_abandoned_uploads(interval) is
  'Scheduled hourly: removes file rows still pending_upload after a day (S3-first, through delete jobs).';

insert into private.scheduled_jobs (name, schedule, command, description)
values ('strata-expire-abandoned-uploads', '15 * * * *', 'select private.expire_abandoned_uploads()',
        'Remove file rows whose upload never arrived.')
on conflict (name) do update set schedule = excluded.schedule, command = excluded.command;
select private.sync_scheduled_jobs();
