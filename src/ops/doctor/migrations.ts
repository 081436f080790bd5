// The database has every migration of this checkout: the versions in
// supabase/migrations against supabase_migrations.schema_migrations, the
// table the Supabase CLI keeps (db push, migration up).
import { readdir } from 'node:fs/promises';
import type { Sql } from '../../../supabase/functions/_shared/db/client.ts';
import { fail, ok, warn, type Check } from './check.ts';

/** Migration files by version: '20261123000100' → '20261123000100_private_schema.sql'. */
export async function readMigrationFiles(dir: string): Promise<Map<string, string>> {
  const files = (await readdir(dir)).filter((file) => /^\d+_.*\.sql$/.test(file)).sort();
  return new Map(files.map((file) => [file.split('_')[0]!, file]));
}

export async function readAppliedVersions(sql: Sql): Promise<string[] | null> {
  const [present] = await sql<{ present: boolean }[]>`
    select exists (select 1 from pg_class c join pg_namespace n on n.oid = c.relnamespace
                    where n.nspname = 'supabase_migrations' and c.relname = 'schema_migrations') as present`;
  if (!present!.present) return null;
  const rows = await sql<{ version: string }[]>`select version from supabase_migrations.schema_migrations order by version`;
  return rows.map((row) => row.version);
}

const LIST_MAX = 5;
const list = (items: string[]) => items.slice(0, LIST_MAX).join(', ') + (items.length > LIST_MAX ? ` and ${items.length - LIST_MAX} more` : '');

export function migrationsCheck(files: Map<string, string>, applied: string[] | null, local: boolean): Check {
  const name = 'migrations';
  const apply = local
    ? "Restart the local stack (npm start applies new migrations), or: npx supabase migration up --remote='<DB URL>' --yes"
    : 'npx supabase db push';
  if (applied === null) {
    return fail(name, 'supabase_migrations.schema_migrations does not exist: the migrations were never applied with the Supabase CLI', apply);
  }
  const appliedSet = new Set(applied);
  const missing = [...files].filter(([version]) => !appliedSet.has(version)).map(([, file]) => file);
  const unknown = applied.filter((version) => !files.has(version));
  const unknownText = unknown.length > 0 ? `; applied but not in this checkout: ${list(unknown)}` : '';
  if (missing.length > 0) {
    return fail(name, `${missing.length} of ${files.size} migrations not applied: ${list(missing)}${unknownText}`, apply);
  }
  if (unknown.length > 0) {
    return warn(name, `all ${files.size} migrations applied${unknownText}`, 'Update this checkout (git pull): the database is ahead of it.');
  }
  return ok(name, `all ${files.size} migrations applied (latest ${[...files.keys()].at(-1) ?? 'none'})`);
}
