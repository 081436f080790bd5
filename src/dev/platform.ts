// Applies the dev-only platform SQL: what a Supabase database has before any
// migration (roles, auth, Vault, pg_net, the Database Webhooks function), in
// file name order. Never part of supabase/migrations.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';

export const PLATFORM_SQL_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'platform');

export async function applyPlatformSql(dbUrl: string): Promise<string[]> {
  const files = (await readdir(PLATFORM_SQL_DIR)).filter((f) => f.endsWith('.sql')).sort();
  const sql = postgres(dbUrl, { max: 1, onnotice: () => {} });
  try {
    for (const file of files) {
      await sql.unsafe(await readFile(path.join(PLATFORM_SQL_DIR, file), 'utf8'));
    }
  } finally {
    await sql.end();
  }
  return files;
}

/** Stores the values the database needs to call back into the stack, as Vault secrets. */
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
