// The local database is built as a hosted Supabase one: supabase_admin is the
// superuser, postgres (SUPABASE_DB_URL, the migrations, the CLI) is not; the
// API roles, auth.users and pg_net have hosted Supabase's attributes, shape,
// signatures and grants. So a grant missing from a migration fails here as it
// would on Supabase, instead of being papered over by a superuser.
import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { functionsEnvOf } from '../src/dev/state.ts';
import { connect, connectAdmin, createUser, type Sql } from './helpers/db.ts';

let sql: Sql;
let admin: Sql;
/** Exactly what the functions get as SUPABASE_DB_URL. */
let functionsDb: Sql;

beforeAll(async () => {
  sql = connect({ max: 2 });
  admin = connectAdmin();
  functionsDb = postgres(functionsEnvOf(inject('stack')).SUPABASE_DB_URL!, { max: 1, onnotice: () => {} });
  // Something only the superuser may run, as platform functions are on Supabase.
  await admin.unsafe(`
    create or replace function private.test_admin_only_probe() returns integer language sql set search_path = '' as 'select 1';
    revoke all on function private.test_admin_only_probe() from public`);
});

afterAll(async () => {
  await admin`drop function if exists private.test_admin_only_probe()`;
  await Promise.all([sql.end(), admin.end(), functionsDb.end()]);
});

/** The SQLSTATE a statement fails with, or 'ok'; rolled back unless it cannot run in a transaction. */
async function outcome(db: Sql, statement: string, options: { transaction?: boolean } = {}): Promise<string> {
  if (options.transaction === false) {
    return db.unsafe(statement).then(
      () => 'ok',
      (error: { code?: string }) => error.code ?? 'unknown',
    );
  }
  let code = 'ok';
  await db
    .begin(async (tx) => {
      try {
        await tx.unsafe(statement);
      } catch (error) {
        code = (error as { code?: string }).code ?? 'unknown';
      }
      throw new Error('roll back');
    })
    .catch(() => undefined);
  return code;
}

const roleSettings = async (role: string) =>
  (await sql<{ setting: string }[]>`
    select unnest(setconfig) as setting from pg_db_role_setting where setrole = ${role}::regrole and setdatabase = 0`).map((r) => r.setting);

describe('roles as on hosted Supabase', () => {
  it('the functions connect as postgres, which is not a superuser but has CREATEROLE and BYPASSRLS', async () => {
    const [me] = await functionsDb`select current_user as name, r.rolsuper, r.rolcreaterole, r.rolbypassrls, r.rolcreatedb, r.rolreplication
                                     from pg_roles r where r.rolname = current_user`;
    expect(me).toEqual({ name: 'postgres', rolsuper: false, rolcreaterole: true, rolbypassrls: true, rolcreatedb: true, rolreplication: true });
    const superusers = await sql<{ rolname: string }[]>`select rolname from pg_roles where rolsuper order by rolname`;
    expect(superusers.map((r) => r.rolname)).toEqual(['supabase_admin']);
  });

  it('the migrations were applied as postgres, which owns everything they created', async () => {
    const [applied] = await sql`select pg_get_userbyid(relowner) as owner from pg_class where oid = 'supabase_migrations.schema_migrations'::regclass`;
    expect(applied!.owner).toBe('postgres');
    // Everything but the test harness's own objects (test_*, set up by supabase_admin: tests/setup/stack.ts and below).
    const foreign = await sql`
      select n.nspname || '.' || c.relname as name, pg_get_userbyid(c.relowner) as owner
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
       where n.nspname in ('public', 'private', 'supabase_migrations') and c.relowner <> 'postgres'::regrole
         and left(c.relname, 5) <> 'test_'
      union all
      select n.nspname || '.' || p.proname, pg_get_userbyid(p.proowner)
        from pg_proc p join pg_namespace n on n.oid = p.pronamespace
       where n.nspname in ('public', 'private') and p.proowner <> 'postgres'::regrole and left(p.proname, 5) <> 'test_'`;
    expect(foreign).toEqual([]);
  });

  it.each([
    { role: 'anon', bypassrls: false, settings: ['statement_timeout=3s'] },
    { role: 'authenticated', bypassrls: false, settings: ['statement_timeout=8s'] },
    { role: 'service_role', bypassrls: true, settings: [] },
  ])('$role: NOLOGIN, INHERIT, bypassrls $bypassrls, $settings, reachable from authenticator and postgres', async ({ role, bypassrls, settings }) => {
    const [attributes] = await sql`select rolcanlogin, rolinherit, rolbypassrls, rolsuper from pg_roles where rolname = ${role}`;
    expect(attributes).toEqual({ rolcanlogin: false, rolinherit: true, rolbypassrls: bypassrls, rolsuper: false });
    expect(await roleSettings(role)).toEqual(settings);
    const [reach] = await sql`
      select pg_has_role('authenticator', ${role}, 'SET') as authenticator, pg_has_role('postgres', ${role}, 'SET') as postgres`;
    expect(reach).toEqual({ authenticator: true, postgres: true });
  });

  it('authenticator logs in, inherits nothing and runs under 8 s statement and lock timeouts', async () => {
    const [attributes] = await sql`select rolcanlogin, rolinherit, rolsuper from pg_roles where rolname = 'authenticator'`;
    expect(attributes).toEqual({ rolcanlogin: true, rolinherit: false, rolsuper: false });
    expect((await roleSettings('authenticator')).sort()).toEqual(['lock_timeout=8s', 'statement_timeout=8s']);
  });
});

describe('the platform\'s own roles own the platform\'s objects', () => {
  it.each([
    { object: 'auth.users', owner: 'supabase_auth_admin' },
    { object: 'auth.identities', owner: 'supabase_auth_admin' },
    { object: 'vault.secrets', owner: 'supabase_admin' },
    { object: 'net.http_request_queue', owner: 'supabase_admin' },
    { object: 'supabase_functions.hooks', owner: 'supabase_functions_admin' },
  ])('$object belongs to $owner', async ({ object, owner }) => {
    const [row] = await sql`select pg_get_userbyid(relowner) as owner from pg_class where oid = ${object}::regclass`;
    expect(row!.owner).toBe(owner);
  });

  it('the Database Webhooks function runs as supabase_functions_admin (security definer), as on Supabase', async () => {
    const [fn] = await sql`
      select pg_get_userbyid(proowner) as owner, prosecdef from pg_proc where oid = 'supabase_functions.http_request()'::regprocedure`;
    expect(fn).toEqual({ owner: 'supabase_functions_admin', prosecdef: true });
  });
});

describe('a grant missing locally is missing as on Supabase', () => {
  // Each statement needs a privilege postgres does not have on hosted Supabase.
  it.each([
    { what: 'read a server file (superuser or pg_read_server_files)', statement: `select pg_read_file('PG_VERSION')` },
    { what: 'write Vault directly instead of through vault.update_secret', statement: `update vault.secrets set description = 'probe'` },
    { what: 'change GoTrue\'s table (owned by supabase_auth_admin)', statement: 'alter table auth.users add column strata_probe text' },
    { what: 'create in the auth schema', statement: 'create table auth.strata_probe (id integer)' },
    { what: 'become the superuser', statement: 'set role supabase_admin' },
    { what: 'change the server configuration', statement: 'alter system reset work_mem', transaction: false },
    { what: 'call a function only supabase_admin may run', statement: 'select private.test_admin_only_probe()' },
  ])('the functions\' connection cannot $what', async ({ statement, transaction }) => {
    expect(await outcome(admin, statement, { transaction })).toBe('ok');
    expect(await outcome(functionsDb, statement, { transaction })).toBe('42501');
  });

  it('what the hosted postgres may do works: Vault through its API, auth.users triggers, session_replication_role', async () => {
    const [secret] = await functionsDb`select decrypted_secret from vault.decrypted_secrets where name = 'strata_api_url'`;
    expect(secret!.decrypted_secret).toBe(inject('stack').apiUrl);
    // Stored as the "cipher" text, never the plain value (base64 locally).
    const [stored] = await functionsDb`select secret from vault.secrets where name = 'strata_api_url'`;
    expect(stored!.secret).not.toBe(inject('stack').apiUrl);
    const [grants] = await functionsDb`
      select has_table_privilege('auth.users', 'select, insert, update, delete, references, trigger') as auth_users,
             has_schema_privilege('auth', 'create') as create_in_auth`;
    expect(grants).toEqual({ auth_users: true, create_in_auth: false });
    expect(await outcome(functionsDb, 'set local session_replication_role = replica')).toBe('ok');
  });
});

describe('auth.users as GoTrue creates it', () => {
  it('has no default on id: whoever inserts chooses it, as GoTrue does', async () => {
    const [column] = await sql`
      select column_default, is_nullable from information_schema.columns
       where table_schema = 'auth' and table_name = 'users' and column_name = 'id'`;
    expect(column).toEqual({ column_default: null, is_nullable: 'NO' });
    expect(await outcome(sql, `insert into auth.users (email) values ('no-id-${randomUUID()}@example.test')`)).toBe('23502');
  });

  it('is owned by GoTrue\'s role, with row level security on and Strata\'s triggers on it', async () => {
    const [table] = await sql`
      select pg_get_userbyid(relowner) as owner, relrowsecurity from pg_class where oid = 'auth.users'::regclass`;
    expect(table).toEqual({ owner: 'supabase_auth_admin', relrowsecurity: true });
    const triggers = await sql`select tgname from pg_trigger where tgrelid = 'auth.users'::regclass and not tgisinternal order by tgname`;
    expect(triggers.map((t) => t.tgname)).toEqual(['strata_users_after_delete_statement', 'strata_users_before_delete']);
  });

  it('keeps e-mail addresses unique among non-SSO users only (users_email_partial_key)', async () => {
    const [index] = await sql`select indexdef from pg_indexes where schemaname = 'auth' and indexname = 'users_email_partial_key'`;
    expect(index!.indexdef).toBe('CREATE UNIQUE INDEX users_email_partial_key ON auth.users USING btree (email) WHERE (is_sso_user = false)');
    const constraints = await sql`select conname from pg_constraint where conrelid = 'auth.users'::regclass and contype = 'u' order by conname`;
    expect(constraints.map((c) => c.conname)).toEqual(['users_phone_key']);

    const user = await createUser(sql, 'partial-unique');
    const duplicate = `insert into auth.users (instance_id, id, aud, role, email, is_sso_user) values ('00000000-0000-0000-0000-000000000000', '${randomUUID()}', 'authenticated', 'authenticated', '${user.email}', `;
    expect(await outcome(sql, duplicate + 'false)')).toBe('23505');
    expect(await outcome(sql, duplicate + 'true)')).toBe('ok');
    await sql`delete from auth.users where id = ${user.id}`;
  });

  it('a user deleted by GoTrue (as supabase_auth_admin) is erased: rows cascade, the S3 erasure job is queued', async () => {
    const user = await createUser(sql, 'gotrue-delete');
    const [conversation] = await sql`insert into public.conversations (user_id, title) values (${user.id}, 'doomed') returning id`;
    await admin.begin(async (tx) => {
      await tx`set local role supabase_auth_admin`;
      await tx`delete from auth.users where id = ${user.id}`;
    });
    expect(await sql`select 1 from public.conversations where id = ${conversation!.id}`).toHaveLength(0);
    const jobs = await sql`select kind from private.jobs where subject_id = ${user.id}`;
    expect(jobs.map((j) => j.kind)).toContain('erase_user_objects');
  });
});

describe('pg_net as the 0.20 extension', () => {
  it('has its signatures, http_delete with a body, and net.http_method as a domain', async () => {
    const functions = await sql<{ name: string; args: string; result: string }[]>`
      select p.proname as name, pg_get_function_arguments(p.oid) as args, pg_get_function_result(p.oid) as result
        from pg_proc p where p.pronamespace = 'net'::regnamespace and p.proname in ('http_get', 'http_post', 'http_delete')
       order by p.proname`;
    expect(functions).toEqual([
      {
        name: 'http_delete',
        args: "url text, params jsonb DEFAULT '{}'::jsonb, headers jsonb DEFAULT '{}'::jsonb, timeout_milliseconds integer DEFAULT 5000, body jsonb DEFAULT NULL::jsonb",
        result: 'bigint',
      },
      {
        name: 'http_get',
        args: "url text, params jsonb DEFAULT '{}'::jsonb, headers jsonb DEFAULT '{}'::jsonb, timeout_milliseconds integer DEFAULT 5000",
        result: 'bigint',
      },
      {
        name: 'http_post',
        args: "url text, body jsonb DEFAULT '{}'::jsonb, params jsonb DEFAULT '{}'::jsonb, headers jsonb DEFAULT '{\"Content-Type\": \"application/json\"}'::jsonb, timeout_milliseconds integer DEFAULT 5000",
        result: 'bigint',
      },
    ]);
    const [method] = await sql`
      select t.typtype, format_type(t.typbasetype, null) as base from pg_type t
       where t.typnamespace = 'net'::regnamespace and t.typname = 'http_method'`;
    expect(method).toEqual({ typtype: 'd', base: 'text' });
    // What private.wake_workers looks for before it sends a wake-up.
    const [probe] = await sql`select to_regprocedure('net.http_post(text, jsonb, jsonb, jsonb, integer)') is not null as found`;
    expect(probe!.found).toBe(true);
  });

  it('grants what the extension grants: the schema, its tables and its functions to every role', async () => {
    const [grants] = await sql`
      select has_schema_privilege('anon', 'net', 'usage') as schema,
             has_table_privilege('anon', 'net.http_request_queue', 'insert') as queue,
             has_function_privilege('anon', 'net.http_post(text, jsonb, jsonb, jsonb, integer)', 'execute') as post,
             has_function_privilege('authenticated', 'net.http_delete(text, jsonb, jsonb, integer, jsonb)', 'execute') as delete,
             (select prosecdef from pg_proc where oid = 'net.http_post(text, jsonb, jsonb, jsonb, integer)'::regprocedure) as definer,
             (select pg_get_userbyid(proowner) from pg_proc where oid = 'net.http_post(text, jsonb, jsonb, jsonb, integer)'::regprocedure) as owner`;
    expect(grants).toEqual({ schema: true, queue: true, post: true, delete: true, definer: false, owner: 'supabase_admin' });
  });

  it('refuses a POST whose Content-Type is not JSON, and encodes query parameters', async () => {
    expect(await outcome(sql, `select net.http_post('http://127.0.0.1:9/x', headers := '{"content-type": "text/plain"}')`)).toBe('P0001');
    let queued: unknown;
    await sql
      .begin(async (tx) => {
        const [request] = await tx`select net.http_get('http://127.0.0.1:9/x?a=1', params := '{"q": "a b&c/é"}') as id`;
        [queued] = await tx`select url, method, headers from net.http_request_queue where id = ${request!.id}`;
        throw new Error('roll back: never sent');
      })
      .catch(() => undefined);
    expect(queued).toEqual({ url: 'http://127.0.0.1:9/x?a=1&q=a%20b%26c%2F%C3%A9', method: 'GET', headers: {} });
  });
});
