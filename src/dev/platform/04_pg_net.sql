-- Dev-only: a pg_net 0.20 stand-in. Same objects, signatures and grants as
-- the extension (github.com/supabase/pg_net, sql/pg_net.sql at v0.20.0), so
-- SQL that works here works against the real one: the net schema, its
-- unlogged queue and response tables, net.http_get/http_post/http_delete
-- (http_delete takes a body since 0.20), net.http_method as a domain, the
-- response types and collect functions. Written here, not copied.
--
-- What differs is the worker: pg_net's C background worker is the dev stack's
-- relay (src/dev/relay.ts), which connects as supabase_admin like the
-- worker. net.wake() is a NOTIFY, which Postgres delivers only on commit, so
-- a rolled-back request is never sent, as with pg_net.
--
-- Grants as the extension sets them: the schema, its tables and sequences to
-- PUBLIC, and the functions keep Postgres's default (execute for PUBLIC);
-- Supabase's image adds usage on the schema for postgres and the API roles.
-- Run as supabase_admin, which owns it all, as when supautils creates the
-- extension for postgres.
create schema if not exists net;

do $$
begin
  if not exists (select 1 from pg_type t join pg_namespace n on n.oid = t.typnamespace
                 where n.nspname = 'net' and t.typname = 'http_method') then
    create domain net.http_method as text
      check (value ilike 'get' or value ilike 'post' or value ilike 'delete');
  end if;
  if not exists (select 1 from pg_type t join pg_namespace n on n.oid = t.typnamespace
                 where n.nspname = 'net' and t.typname = 'request_status') then
    create type net.request_status as enum ('PENDING', 'SUCCESS', 'ERROR');
  end if;
  if not exists (select 1 from pg_type t join pg_namespace n on n.oid = t.typnamespace
                 where n.nspname = 'net' and t.typname = 'http_response') then
    create type net.http_response as (status_code integer, headers jsonb, body text);
  end if;
  if not exists (select 1 from pg_type t join pg_namespace n on n.oid = t.typnamespace
                 where n.nspname = 'net' and t.typname = 'http_response_result') then
    create type net.http_response_result as (status net.request_status, message text, response net.http_response);
  end if;
end
$$;

-- Requests waiting for the worker. UNLOGGED as in pg_net: lost on a crash.
create unlogged table if not exists net.http_request_queue (
  id bigserial,
  method net.http_method not null,
  url text not null,
  headers jsonb,
  body bytea,
  timeout_milliseconds integer not null
);

-- One row per finished request, kept for pg_net.ttl (6 hours by default).
create unlogged table if not exists net._http_response (
  id bigint,
  status_code integer,
  content_type text,
  headers jsonb,
  content text,
  timed_out boolean,
  error_msg text,
  created timestamptz not null default now()
);
create index if not exists _http_response_created_idx on net._http_response (created);

-- Tells the worker there is work. Delivered at commit (NOTIFY).
create or replace function net.wake() returns void
language sql volatile
as $$ select pg_notify('strata_net_request', '') $$;

create or replace function net.worker_restart() returns boolean
language sql volatile
as $$ select pg_notify('strata_net_request', ''); select true $$;

-- The worker is the relay's connection (application name strata-dev-relay).
-- Security definer only so that any role sees it, as any role sees pg_net's
-- background worker in pg_stat_activity.
create or replace function net.check_worker_is_up() returns void
language plpgsql
security definer
set search_path = pg_catalog
as $$
begin
  if not exists (select 1 from pg_stat_activity where application_name = 'strata-dev-relay') then
    raise exception using
      message = 'the pg_net background worker is not up',
      detail = 'the dev stack''s relay, which sends pg_net requests locally, is not connected',
      hint = 'start the stack with npm start';
  end if;
end
$$;
comment on function net.check_worker_is_up() is
  'raises an exception if the pg_net background worker is not up, otherwise it doesn''t return anything';

create or replace function net.wait_until_running() returns void
language plpgsql
as $$
begin
  loop
    begin
      perform net.check_worker_is_up();
      return;
    exception when others then
      perform pg_sleep(0.1);
    end;
  end loop;
end
$$;
comment on function net.wait_until_running() is 'waits until the worker is running';

-- Percent-encodes everything but RFC 3986's unreserved characters, as curl does.
create or replace function net._urlencode_string(string varchar) returns text
language sql immutable
as $$
  select coalesce(string_agg(
           case when b between 48 and 57 or b between 65 and 90 or b between 97 and 122 or b in (45, 46, 95, 126)
                then chr(b) else '%' || upper(lpad(to_hex(b), 2, '0')) end, '' order by i), '')
    from (select convert_to(string, 'UTF8') as bytes) s,
         lateral generate_series(0, length(s.bytes) - 1) as i,
         lateral get_byte(s.bytes, i) as b
$$;

-- Appends already encoded key=value pairs to a URL.
create or replace function net._encode_url_with_params_array(url text, params_array text[]) returns text
language sql immutable
as $$
  select case
    when coalesce(cardinality(params_array), 0) = 0 then url
    else url || case when strpos(url, '?') > 0 then '&' else '?' end || array_to_string(params_array, '&')
  end
$$;

create or replace function net.http_get(
  url text,
  params jsonb default '{}'::jsonb,
  headers jsonb default '{}'::jsonb,
  timeout_milliseconds integer default 5000
) returns bigint
language plpgsql volatile
as $$
declare
  request_id bigint;
  params_array text[];
begin
  select coalesce(array_agg(net._urlencode_string(p.key) || '=' || net._urlencode_string(p.value)), '{}')
    into params_array from jsonb_each_text(params) p;
  insert into net.http_request_queue (method, url, headers, timeout_milliseconds)
  values ('GET', net._encode_url_with_params_array(url, params_array), headers, timeout_milliseconds)
  returning id into request_id;
  perform net.wake();
  return request_id;
end
$$;

-- The body is sent as JSON: a Content-Type other than application/json is refused, as by pg_net.
create or replace function net.http_post(
  url text,
  body jsonb default '{}'::jsonb,
  params jsonb default '{}'::jsonb,
  headers jsonb default '{"Content-Type": "application/json"}'::jsonb,
  timeout_milliseconds integer default 5000
) returns bigint
language plpgsql volatile
as $$
declare
  request_id bigint;
  params_array text[];
  content_type text;
begin
  select coalesce(array_agg(net._urlencode_string(p.key) || '=' || net._urlencode_string(p.value)), '{}')
    into params_array from jsonb_each_text(params) p;
  select h.value into content_type
    from jsonb_each_text(coalesce(headers, '{}'::jsonb)) h
   where lower(h.key) = 'content-type'
   limit 1;
  if content_type is null then
    headers := headers || '{"Content-Type": "application/json"}'::jsonb;
  elsif content_type <> 'application/json' then
    raise exception 'Content-Type header must be "application/json"';
  end if;
  insert into net.http_request_queue (method, url, headers, body, timeout_milliseconds)
  values ('POST', net._encode_url_with_params_array(url, params_array), headers,
          convert_to(body::text, 'UTF8'), timeout_milliseconds)
  returning id into request_id;
  perform net.wake();
  return request_id;
end
$$;

create or replace function net.http_delete(
  url text,
  params jsonb default '{}'::jsonb,
  headers jsonb default '{}'::jsonb,
  timeout_milliseconds integer default 5000,
  body jsonb default null
) returns bigint
language plpgsql volatile
as $$
declare
  request_id bigint;
  params_array text[];
begin
  select coalesce(array_agg(net._urlencode_string(p.key) || '=' || net._urlencode_string(p.value)), '{}')
    into params_array from jsonb_each_text(params) p;
  insert into net.http_request_queue (method, url, headers, body, timeout_milliseconds)
  values ('DELETE', net._encode_url_with_params_array(url, params_array), headers,
          convert_to(body::text, 'UTF8'), timeout_milliseconds)
  returning id into request_id;
  perform net.wake();
  return request_id;
end
$$;

-- Waits until the worker has written the request's response.
create or replace function net._await_response(request_id bigint) returns boolean
language plpgsql
as $$
begin
  while not exists (select 1 from net._http_response r where r.id = request_id) loop
    perform pg_sleep(0.05);
  end loop;
  return true;
end
$$;

create or replace function net._http_collect_response(request_id bigint, async boolean default true)
returns net.http_response_result
language plpgsql
as $$
declare
  response net._http_response;
begin
  if not async then
    perform net._await_response(request_id);
  end if;
  select * into response from net._http_response r where r.id = request_id;
  if response is null or response.error_msg is not null then
    return ('ERROR', coalesce(response.error_msg, 'request matching request_id not found'), null)::net.http_response_result;
  end if;
  return ('SUCCESS', 'ok', (response.status_code, response.headers, response.content)::net.http_response)::net.http_response_result;
end
$$;

create or replace function net.http_collect_response(request_id bigint, async boolean default true)
returns net.http_response_result
language plpgsql
as $$
begin
  raise notice 'The net.http_collect_response function is deprecated.';
  return net._http_collect_response(request_id, async);
end
$$;

grant usage on schema net to public;
grant all on all sequences in schema net to public;
grant all on all tables in schema net to public;
grant usage on schema net to postgres, anon, authenticated, service_role;
