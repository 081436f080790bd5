-- The private schema holds Strata's internal functions and tables. Nothing in
-- it is exposed through the Data API, and no function is executable by the
-- API roles unless a later migration grants it explicitly.

create schema if not exists private;
revoke all on schema private from public, anon, authenticated;
grant usage on schema private to service_role;

-- Postgres grants execute on new functions to PUBLIC, and Supabase adds a
-- per-schema grant to the API roles in public. Strata revokes both once, here
-- (the global default can only be revoked globally, not per schema), and
-- grants each function it means to expose explicitly.
alter default privileges revoke execute on functions from public;
alter default privileges in schema public
  revoke execute on functions from anon, authenticated;
alter default privileges in schema private
  revoke all on tables from anon, authenticated;

-- Keeps updated_at honest whatever the client sends.
-- Trigger function; not callable directly.
create or replace function private.set_updated_at()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.updated_at := now();
  return new;
end
$$;
comment on function private.set_updated_at() is
  'BEFORE UPDATE trigger: sets updated_at to the transaction time.';
