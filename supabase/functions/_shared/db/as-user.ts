// Runs SQL as the calling user, exactly as PostgREST does: one transaction
// with role authenticated and request.jwt.claims set, so RLS decides.
import type postgres from 'postgres';
import type { Sql } from './client.ts';

export type Tx = postgres.TransactionSql;

export async function asUser<T>(
  sql: Sql,
  claims: Record<string, unknown>,
  fn: (tx: Tx) => Promise<T>,
  /** e.g. 'isolation level repeatable read read only' for a consistent snapshot. */
  mode = '',
): Promise<T> {
  return (await sql.begin(mode, async (tx) => {
    await tx`select set_config('role', 'authenticated', true), set_config('request.jwt.claims', ${JSON.stringify(claims)}, true)`;
    return fn(tx);
  })) as T;
}

/**
 * Deletes the caller's row the S3-first way (the table's delete trigger turns
 * it into a job). False when the row does not exist for the caller (404).
 */
export async function deleteAsUser(sql: Sql, claims: Record<string, unknown>, table: 'files' | 'analyses', id: string): Promise<boolean> {
  return asUser(sql, claims, async (tx) => {
    const [row] = await tx`select 1 from ${tx(table)} where id = ${id}`;
    if (!row) return false;
    await tx`delete from ${tx(table)} where id = ${id}`;
    return true;
  });
}
