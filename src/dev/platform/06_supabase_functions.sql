-- Dev-only: supabase_functions.http_request, the trigger function behind the
-- dashboard's Database Webhooks, with the hosted signature and behaviour. The
-- dashboard creates a webhook as
--   create trigger <name> after insert or update or delete on <table>
--     for each row execute function supabase_functions.http_request(
--       '<url>', 'POST', '{"Content-Type":"application/json", ...}', '{}', '5000');
-- A POST sends { type, table, schema, record, old_record } through pg_net (here
-- the pg_net stand-in, 04_pg_net.sql: sent by the relay after commit), a GET
-- only the params; each call is logged in supabase_functions.hooks. Like pg_net,
-- at most once and never retried: Strata treats a webhook as a wake-up only.
create schema if not exists supabase_functions;
grant usage on schema supabase_functions to postgres, anon, authenticated, service_role;

create table if not exists supabase_functions.hooks (
  id bigserial primary key,
  hook_table_id integer not null,
  hook_name text not null,
  created_at timestamptz not null default now(),
  request_id bigint
);
create index if not exists supabase_functions_hooks_request_id_idx on supabase_functions.hooks (request_id);
create index if not exists supabase_functions_hooks_h_table_id_h_name_idx on supabase_functions.hooks (hook_table_id, hook_name);
comment on table supabase_functions.hooks is 'Supabase Functions Hooks: Audit trail for triggered hooks.';
revoke all on supabase_functions.hooks from public;
grant all on supabase_functions.hooks to postgres, service_role;
grant usage on sequence supabase_functions.hooks_id_seq to postgres, service_role;

-- Arguments (all text, as trigger arguments are): url, method ('GET' or
-- 'POST'), headers (JSON; default Content-Type: application/json), params
-- (JSON query parameters), timeout in ms (default 1000). Security definer, as
-- hosted: whoever changes the row may not call pg_net.
create or replace function supabase_functions.http_request()
returns trigger
language plpgsql
security definer
set search_path to 'supabase_functions'
as $$
declare
  request_id bigint;
  payload jsonb;
  url text := tg_argv[0]::text;
  method text := tg_argv[1]::text;
  headers jsonb default '{}'::jsonb;
  params jsonb default '{}'::jsonb;
  timeout_ms integer default 1000;
begin
  if url is null or url = 'null' then
    raise exception 'url argument is missing';
  end if;

  if method is null or method = 'null' then
    raise exception 'method argument is missing';
  end if;

  if tg_argv[2] is null or tg_argv[2] = 'null' then
    headers = '{"Content-Type": "application/json"}'::jsonb;
  else
    headers = tg_argv[2]::jsonb;
  end if;

  if tg_argv[3] is null or tg_argv[3] = 'null' then
    params = '{}'::jsonb;
  else
    params = tg_argv[3]::jsonb;
  end if;

  if tg_argv[4] is null or tg_argv[4] = 'null' then
    timeout_ms = 1000;
  else
    timeout_ms = tg_argv[4]::integer;
  end if;

  case
    when method = 'GET' then
      select http_get into request_id from net.http_get(url, params, headers, timeout_ms);
    when method = 'POST' then
      payload = jsonb_build_object(
        'old_record', old,
        'record', new,
        'type', tg_op,
        'table', tg_table_name,
        'schema', tg_table_schema
      );
      select http_post into request_id from net.http_post(url, payload, params, headers, timeout_ms);
    else
      raise exception 'method argument % is invalid', method;
  end case;

  insert into supabase_functions.hooks (hook_table_id, hook_name, request_id)
  values (tg_relid, tg_name, request_id);

  return new;
end
$$;
comment on function supabase_functions.http_request() is
  'Database Webhooks (dev stand-in of the hosted function): sends the changed row through pg_net.';
revoke all on function supabase_functions.http_request() from public;
grant execute on function supabase_functions.http_request() to postgres, anon, authenticated, service_role;

-- Owned as on hosted Supabase (20240822021428_enable_webhooks_by_default in
-- supabase/postgres): the schema by supabase_admin, the table and the
-- function by supabase_functions_admin, a role postgres is a member of. No
-- password: nothing logs in as it locally.
do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'supabase_functions_admin') then
    create role supabase_functions_admin noinherit createrole login noreplication;
  end if;
end
$$;
alter role supabase_functions_admin set search_path = supabase_functions;
grant all on schema supabase_functions to supabase_functions_admin;
grant all on all tables in schema supabase_functions to supabase_functions_admin;
grant all on all sequences in schema supabase_functions to supabase_functions_admin;
alter table supabase_functions.hooks owner to supabase_functions_admin;
alter function supabase_functions.http_request() owner to supabase_functions_admin;
grant supabase_functions_admin to postgres;
