-- TTL lifecycle: a deployment-wide default TTL (none unless set), applied to
-- every new conversation that does not bring its own expiry; and an expiry
-- sweep that handles expired conversations in short batches, committing
-- after each, with a per-deployment policy: 'archive' (through the archive
-- pipeline, so nothing is lost) or 'delete' (purged without archive).
-- Expired conversations are already invisible to their owner (see the
-- conversations policies), before any sweep.

-- The settings (default TTL, policy, batch size) live in private.settings.

-- What the sweep did, run by run.
create table private.expiry_runs (
  id bigint generated always as identity primary key,
  started_at timestamptz not null default clock_timestamp(),
  finished_at timestamptz,
  policy text not null,
  expired integer not null default 0,
  batches integer not null default 0
);
alter table private.expiry_runs enable row level security;

-- The settings a client may know (the default TTL and the policy).
-- Security definer: private.settings is not readable by the API roles.
create or replace function public.conversation_settings()
returns jsonb
language sql
stable
security definer
set search_path = ''
as $$
  select jsonb_build_object('default_ttl_hours', s.default_ttl_hours, 'expiry_policy', s.expiry_policy)
    from private.settings s
$$;
comment on function public.conversation_settings() is
  'The deployment''s default TTL and expiry policy. Callable by signed-in users; security definer to read private.settings.';
revoke execute on function public.conversation_settings() from public, anon;
grant execute on function public.conversation_settings() to authenticated, service_role;

-- BEFORE INSERT on conversations: applies the default TTL when the new row
-- sets no expiry. Security definer: reads private.settings.
create or replace function private.conversations_default_ttl()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  hours integer;
begin
  if new.expires_at is null then
    select default_ttl_hours into hours from private.settings;
    if hours is not null then
      new.expires_at := now() + make_interval(hours => hours);
    end if;
  end if;
  return new;
end
$$;
comment on function private.conversations_default_ttl() is
  'BEFORE INSERT trigger on conversations: expires_at defaults to now() + the deployment TTL. Security definer to read settings.';

create trigger conversations_default_ttl
  before insert on public.conversations
  for each row execute function private.conversations_default_ttl();

-- The expiry sweep. A procedure so that it can commit after each batch: locks
-- are held for one batch only, and a crash loses at most one batch's progress.
-- 'archive' deletes through the archive gate (pending archives, one wake-up
-- per batch); 'delete' purges without archive. The report is returned and
-- kept in private.expiry_runs.
-- No `set search_path` clause: Postgres forbids transaction control in a
-- procedure that has one. It is not security definer (it runs with the
-- caller's rights) and every name in it is schema-qualified.
create or replace procedure private.expire_conversations(inout report jsonb default null)
language plpgsql
as $$
declare
  policy text;
  batch_size integer;
  run_id bigint;
  batch uuid[];
  total integer := 0;
  batch_count integer := 0;
begin
  select s.expiry_policy, s.expiry_batch_size into policy, batch_size from private.settings s;
  insert into private.expiry_runs (policy) values (policy) returning id into run_id;
  commit;
  loop
    select array_agg(id) into batch from (
      select c.id from public.conversations c
       where c.expires_at <= now() and c.deleted_at is null
       order by c.expires_at
       limit batch_size
       for update skip locked
    ) due;
    exit when batch is null;
    -- 'delete': a pass through the archive gate for this batch's transaction.
    if policy = 'delete' then
      perform private.open_gate('delete_conversation', null);
    end if;
    delete from public.conversations where id = any (batch);
    if policy = 'delete' then
      perform private.close_gate('delete_conversation', null);
    end if;
    total := total + cardinality(batch);
    batch_count := batch_count + 1;
    update private.expiry_runs set expired = total, batches = batch_count where id = run_id;
    commit;
  end loop;
  update private.expiry_runs set finished_at = clock_timestamp(), expired = total, batches = batch_count
   where id = run_id;
  report := jsonb_build_object('run', run_id, 'policy', policy, 'expired', total, 'batches', batch_count);
  commit;
end
$$;
comment on procedure private.expire_conversations(jsonb) is
  'Scheduled hourly: expires conversations past expires_at in committed batches, archiving or purging per private.settings.';

insert into private.scheduled_jobs (name, schedule, command, description)
values ('strata-expire-conversations', '0 * * * *', 'call private.expire_conversations()',
        'Expire conversations whose TTL has passed (archive or delete, per private.settings).')
on conflict (name) do update set schedule = excluded.schedule, command = excluded.command;
select private.sync_scheduled_jobs();
