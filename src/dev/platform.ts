// Applies the dev-only platform SQL: what a Supabase database has before any
// migration (roles, auth, Vault, pg_net, the Database Webhooks function), in
// file name order, as the superuser supabase_admin, which on hosted Supabase
// owns these too (or hands them to the platform's own roles). Never part of
// supabase/migrations.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';

export const PLATFORM_SQL_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'platform');

/** adminDbUrl: a connection as supabase_admin to the database to prepare. */
export async function applyPlatformSql(adminDbUrl: string): Promise<string[]> {
  const files = (await readdir(PLATFORM_SQL_DIR)).filter((f) => f.endsWith('.sql')).sort();
  const sql = postgres(adminDbUrl, { max: 1, onnotice: () => {} });
  try {
    for (const file of files) {
      await sql.unsafe(await readFile(path.join(PLATFORM_SQL_DIR, file), 'utf8'));
    }
  } finally {
    await sql.end();
  }
  return files;
}

/**
 * Stores the values the database needs to call back into the stack, as Vault
 * secrets, through Vault's API as postgres (dbUrl), as a developer does on Supabase.
 */
export async function upsertVaultSecrets(dbUrl: string, secrets: Record<string, string>): Promise<void> {
  const sql = postgres(dbUrl, { max: 1, onnotice: () => {} });
  try {
    for (const [name, value] of Object.entries(secrets)) {
      const [existing] = await sql`select id from vault.secrets where name = ${name}`;
      if (existing) await sql`select vault.update_secret(${existing.id}::uuid, ${value})`;
      else await sql`select vault.create_secret(${value}, ${name})`;
    }
  } finally {
    await sql.end();
  }
}
