-- Dev-only: the roles and grants a hosted Supabase database has before any
-- migration runs, from supabase/postgres (init scripts and migrations) with
-- supautils' privileged role. Run as supabase_admin, the superuser; never
-- deployed. Idempotent: applied at every start.
--
-- postgres: the login of SUPABASE_DB_URL, the migrations and the dashboard.
-- Not a superuser (10000000000000_demote-postgres); it owns what migrations
-- create, and reaches the platform's schemas only through the grants below
-- and in the other files here (auth, Vault, pg_net, Database Webhooks).
do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'postgres') then
    create role postgres login;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'anon') then
    create role anon nologin;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticated') then
    create role authenticated nologin;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'service_role') then
    create role service_role nologin;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticator') then
    create role authenticator login;
  end if;
  -- GoTrue's login; owns the auth schema's tables (02_auth.sql). No password
  -- here: nothing logs in as GoTrue locally.
  if not exists (select 1 from pg_roles where rolname = 'supabase_auth_admin') then
    create role supabase_auth_admin login;
  end if;
end
$$;

alter role postgres nosuperuser createdb createrole login replication bypassrls;
alter role postgres set search_path = "$user", public, extensions;
alter role supabase_admin set search_path = "$user", public, auth, extensions;

-- The API roles PostgREST switches to (20230529180330_alter_api_roles_for_inherit),
-- with the statement timeouts the Data API runs under.
alter role anon nologin inherit nobypassrls;
alter role authenticated nologin inherit nobypassrls;
alter role service_role nologin inherit bypassrls;
alter role anon set statement_timeout = '3s';
alter role authenticated set statement_timeout = '8s';

-- PostgREST's login: switches to the API roles, inherits nothing itself.
alter role authenticator login noinherit nobypassrls;
alter role authenticator set statement_timeout = '8s';
alter role authenticator set lock_timeout = '8s';
grant anon, authenticated, service_role to authenticator;

alter role supabase_auth_admin noinherit nocreaterole login noreplication nobypassrls;
alter role supabase_auth_admin set search_path = auth;

-- postgres may switch to the API roles (the functions run user requests as
-- `authenticated`) and, on Postgres 16 and later, administer them.
grant anon, authenticated, service_role to postgres with admin option;
-- Predefined roles the hosted postgres is a member of.
grant pg_monitor, pg_read_all_data, pg_signal_backend to postgres;
-- What supautils lets the privileged role set although it is no superuser
-- (supautils.privileged_role_allowed_configs, the ones core Postgres has).
grant set on parameter session_replication_role, log_lock_waits, log_min_messages, track_io_timing to postgres;

do $$
begin
  execute format('grant all on database %I to postgres', current_database());
end
$$;

grant usage on schema public to postgres, anon, authenticated, service_role;

-- Supabase grants everything in public to the API roles by default and lets RLS
-- decide; migrations must be written against that default, so we copy it. On
-- hosted Supabase these are set by postgres itself (the init scripts run as
-- postgres before it is demoted), so they apply to what postgres creates.
alter default privileges for role postgres in schema public
  grant all on tables to postgres, anon, authenticated, service_role;
alter default privileges for role postgres in schema public
  grant all on sequences to postgres, anon, authenticated, service_role;
alter default privileges for role postgres in schema public
  grant all on functions to postgres, anon, authenticated, service_role;
-- And whatever supabase_admin creates there.
alter default privileges for role supabase_admin in schema public
  grant all on tables to postgres, anon, authenticated, service_role;
alter default privileges for role supabase_admin in schema public
  grant all on sequences to postgres, anon, authenticated, service_role;
alter default privileges for role supabase_admin in schema public
  grant all on functions to postgres, anon, authenticated, service_role;

-- Supabase keeps extensions out of public, in their own schema, created by
-- supabase_admin (or by postgres through supautils, which runs `create
-- extension` as supabase_admin): the ones every project starts with.
create schema if not exists extensions;
create extension if not exists "uuid-ossp" with schema extensions;
create extension if not exists pgcrypto with schema extensions;
grant usage on schema extensions to postgres, anon, authenticated, service_role;
grant all on schema extensions to postgres;
grant all on all tables in schema extensions to postgres with grant option;
grant all on all routines in schema extensions to postgres with grant option;
grant all on all sequences in schema extensions to postgres with grant option;
alter default privileges in schema extensions grant all on tables to postgres with grant option;
alter default privileges in schema extensions grant all on routines to postgres with grant option;
alter default privileges in schema extensions grant all on sequences to postgres with grant option;
