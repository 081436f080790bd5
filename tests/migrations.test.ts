// The migrations apply to an empty database with the real Supabase CLI, and
// the dev-only platform SQL is not part of them.
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PROJECT_ROOT } from '../src/cli/project.ts';
import { applyMigrations } from '../src/dev/migrations.ts';
import { applyPlatformSql, PLATFORM_SQL_DIR } from '../src/dev/platform.ts';
import { connect, type Sql } from './helpers/db.ts';

const MIGRATIONS_DIR = path.join(PROJECT_ROOT, 'supabase', 'migrations');
const dbName = `strata_migrations_${randomBytes(4).toString('hex')}`;
let admin: Sql;
let freshUrl: string;
let freshAdminUrl: string;

const inFreshDatabase = (stackUrl: string) => {
  const url = new URL(stackUrl);
  url.pathname = `/${dbName}`;
  return url.toString();
};

beforeAll(async () => {
  // As postgres, which may create databases on hosted Supabase too (CREATEDB).
  admin = connect({ max: 1 });
  await admin.unsafe(`create database ${dbName}`);
  freshUrl = inFreshDatabase(inject('stack').dbUrl);
  freshAdminUrl = inFreshDatabase(inject('stack').adminDbUrl);
});

afterAll(async () => {
  await admin.unsafe(`drop database if exists ${dbName} with (force)`);
  await admin.end();
});

describe('migrations', () => {
  it('apply to an empty database with the Supabase CLI as postgres, then report it up to date', async () => {
    await applyPlatformSql(freshAdminUrl);
    // As on Supabase, where Realtime's publication exists before any migration.
    const setup = postgres(freshUrl, { max: 1, onnotice: () => {} });
    await setup`create publication supabase_realtime`;
    await setup.end();
    const first = await applyMigrations(freshUrl, PROJECT_ROOT);
    const files = (await readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith('.sql')).sort();
    for (const file of files) expect(first).toContain(`Applying migration ${file}`);

    const sql = postgres(freshUrl, { max: 1, onnotice: () => {} });
    try {
      // Applied as postgres, not a superuser: it owns what they created, and so does nobody else.
      const owners = await sql<{ owner: string }[]>`
        select distinct pg_get_userbyid(c.relowner) as owner from pg_class c join pg_namespace n on n.oid = c.relnamespace
         where n.nspname in ('public', 'private', 'supabase_migrations')
        union
        select distinct pg_get_userbyid(p.proowner) from pg_proc p join pg_namespace n on n.oid = p.pronamespace
         where n.nspname in ('public', 'private')`;
      expect(owners.map((o) => o.owner)).toEqual(['postgres']);
      const versions = await sql<{ version: string }[]>`select version from supabase_migrations.schema_migrations order by version`;
      expect(versions.map((v) => v.version)).toEqual(files.map((f) => f.split('_')[0]));
      const tables = await sql<{ relname: string; relrowsecurity: boolean }[]>`
        select c.relname, c.relrowsecurity from pg_class c join pg_namespace n on n.oid = c.relnamespace
         where n.nspname = 'public' and c.relkind = 'r' order by c.relname`;
      expect(tables).toEqual([
        { relname: 'analyses', relrowsecurity: true },
        { relname: 'archived_conversations', relrowsecurity: true },
        { relname: 'conversations', relrowsecurity: true },
        { relname: 'files', relrowsecurity: true },
        { relname: 'messages', relrowsecurity: true },
      ]);
      const published = await sql<{ tablename: string }[]>`
        select tablename from pg_publication_tables where pubname = 'supabase_realtime' order by tablename`;
      expect(published.map((p) => p.tablename)).toEqual(['conversations', 'messages']);
    } finally {
      await sql.end();
    }
    const second = await applyMigrations(freshUrl, PROJECT_ROOT);
    expect(second).toMatch(/up to date/i);
    expect(second).not.toContain('Applying migration');
  });

  it('apply where no Realtime publication exists (the local stack)', async () => {
    const [row] = await admin`select count(*)::int as n from pg_publication where pubname = 'supabase_realtime'`;
    expect(row!.n).toBe(0);
    const [{ present }] = await admin`select to_regclass('public.messages') is not null as present`;
    expect(present).toBe(true);
  });

  it('hold none of the dev-only platform SQL', async () => {
    expect(path.relative(path.join(PROJECT_ROOT, 'supabase'), PLATFORM_SQL_DIR).startsWith('..')).toBe(true);
    const files = (await readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith('.sql'));
    for (const file of files) {
      const text = (await readFile(path.join(MIGRATIONS_DIR, file), 'utf8')).toLowerCase();
      expect(text, file).not.toMatch(/create\s+(schema|table)\s+(if\s+not\s+exists\s+)?(auth|vault|net|supabase_functions)\b/);
      expect(text, file).not.toMatch(/create\s+(or\s+replace\s+)?function\s+(auth|vault|net|supabase_functions)\./);
      expect(text, file).not.toMatch(/create\s+role\b/);
    }
  });

  it('are named and ordered as the Supabase CLI expects', async () => {
    const files = (await readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith('.sql'));
    for (const file of files) expect(file).toMatch(/^\d{14}_[a-z0-9_]+\.sql$/);
    expect(new Set(files.map((f) => f.slice(0, 14))).size).toBe(files.length);
  });

  it('pin search_path on every function in the private schema and expose only the intended RPCs', async () => {
    const unpinned = await admin`
      select p.proname from pg_proc p join pg_namespace n on n.oid = p.pronamespace
       where n.nspname = 'private' and p.prokind = 'f' -- procedures that commit may not pin it
         and not exists (select 1 from unnest(coalesce(p.proconfig, '{}')) c where c like 'search_path=%')`;
    expect(unpinned).toEqual([]);
    const executable = await admin`
      select p.proname, r.rolname from pg_proc p join pg_namespace n on n.oid = p.pronamespace
       cross join (values ('anon'), ('authenticated')) as r(rolname)
       where n.nspname in ('private', 'public') and has_function_privilege(r.rolname, p.oid, 'execute')
       order by 1, 2`;
    expect(executable).toEqual([
      { proname: 'conversation_settings', rolname: 'authenticated' },
      { proname: 'conversation_stats', rolname: 'authenticated' },
      { proname: 'delete_archived_conversation', rolname: 'authenticated' },
      { proname: 'restore_archived_conversation', rolname: 'authenticated' },
    ]);
  });
});
