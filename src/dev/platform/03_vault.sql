-- Dev-only: Vault's API as supabase_vault 0.3 has it (vault.create_secret,
-- vault.update_secret, vault.decrypted_secrets), with the grants Supabase's
-- image gives after creating the extension (its supabase_vault after-create
-- script): postgres and service_role may read and delete secrets and call
-- create/update, nobody else may do anything. Run as supabase_admin, which
-- owns it all. NOT encryption: the "cipher" below is base64, so a secret is
-- only as safe as the local database files.
create schema if not exists vault;

-- Stand-ins for the extension's AEAD functions: same name and arguments,
-- so decrypted_secrets needs the same execute grant as on hosted Supabase.
create or replace function vault._crypto_aead_det_encrypt(
  message bytea, additional bytea, key_id bigint, context bytea default 'pgsodium', nonce bytea default null
) returns bytea
language sql immutable
as $$ select message $$;

create or replace function vault._crypto_aead_det_decrypt(
  message bytea, additional bytea, key_id bigint, context bytea default 'pgsodium', nonce bytea default null
) returns bytea
language sql immutable
as $$ select message $$;

create or replace function vault._crypto_aead_det_noncegen() returns bytea
language sql volatile
as $$ select uuid_send(gen_random_uuid()) $$;

create table if not exists vault.secrets (
  id uuid primary key default gen_random_uuid(),
  name text,
  description text not null default '',
  secret text not null,
  key_id uuid,
  nonce bytea default vault._crypto_aead_det_noncegen(),
  created_at timestamptz not null default current_timestamp,
  updated_at timestamptz not null default current_timestamp
);
comment on table vault.secrets is 'Table with encrypted `secret` column for storing sensitive information on disk.';
create unique index if not exists secrets_name_idx on vault.secrets (name) where name is not null;

create or replace view vault.decrypted_secrets as
  select s.id, s.name, s.description, s.secret,
         convert_from(vault._crypto_aead_det_decrypt(decode(s.secret, 'base64'), convert_to(s.id::text, 'utf8'), 0, 'pgsodium', s.nonce), 'utf8') as decrypted_secret,
         s.key_id, s.nonce, s.created_at, s.updated_at
    from vault.secrets s;

-- Security definer, as in the extension: callers need no grant on the table.
create or replace function vault.create_secret(
  new_secret text,
  new_name text default null,
  new_description text default '',
  new_key_id uuid default null
) returns uuid
language plpgsql
security definer
set search_path = ''
as $$
declare
  created vault.secrets;
begin
  insert into vault.secrets (secret, name, description) values ('', new_name, new_description)
  returning * into created;
  update vault.secrets s
     set secret = encode(vault._crypto_aead_det_encrypt(convert_to(new_secret, 'utf8'), convert_to(s.id::text, 'utf8'), 0, 'pgsodium', s.nonce), 'base64')
   where s.id = created.id;
  return created.id;
end
$$;

create or replace function vault.update_secret(
  secret_id uuid,
  new_secret text default null,
  new_name text default null,
  new_description text default null,
  new_key_id uuid default null
) returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
  update vault.secrets s set
    secret = case when new_secret is null then s.secret
                  else encode(vault._crypto_aead_det_encrypt(convert_to(new_secret, 'utf8'), convert_to(s.id::text, 'utf8'), 0, 'pgsodium', s.nonce), 'base64') end,
    name = coalesce(new_name, s.name),
    description = coalesce(new_description, s.description),
    updated_at = now()
  where s.id = secret_id;
end
$$;

revoke all on schema vault from public;
revoke all on all tables in schema vault from public;
revoke all on function vault._crypto_aead_det_encrypt(bytea, bytea, bigint, bytea, bytea),
  vault._crypto_aead_det_decrypt(bytea, bytea, bigint, bytea, bytea),
  vault._crypto_aead_det_noncegen(),
  vault.create_secret(text, text, text, uuid),
  vault.update_secret(uuid, text, text, text, uuid)
  from public;

grant usage on schema vault to postgres with grant option;
grant select, delete on vault.secrets, vault.decrypted_secrets to postgres with grant option;
grant execute on function vault.create_secret(text, text, text, uuid),
  vault.update_secret(uuid, text, text, text, uuid),
  vault._crypto_aead_det_decrypt(bytea, bytea, bigint, bytea, bytea) to postgres with grant option;
grant usage on schema vault to service_role;
grant select, delete on vault.secrets, vault.decrypted_secrets to service_role;
grant execute on function vault.create_secret(text, text, text, uuid),
  vault.update_secret(uuid, text, text, text, uuid),
  vault._crypto_aead_det_decrypt(bytea, bytea, bigint, bytea, bytea) to service_role;
