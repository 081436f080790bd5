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
