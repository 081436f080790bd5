-- The private schema holds Strata's internal functions and tables. Nothing in
-- it is exposed through the Data API, and no function is executable by the
-- API roles unless a later migration grants it explicitly.

create schema if not exists private;
revoke all on schema private from public, anon, authenticated;
grant usage on schema private to service_role;

-- Supabase grants execute on new functions to every API role by default.
-- Strata revokes that once, here, and grants each function it means to expose.
alter default privileges in schema public
  revoke execute on functions from public, anon, authenticated;
alter default privileges in schema private
  revoke execute on functions from public, anon, authenticated;
alter default privileges in schema private
  revoke all on tables from public, anon, authenticated;

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
