// Database helpers for tests: a service connection, users, and running SQL
// exactly as PostgREST runs it for a request (role and request.jwt.claims set
// for one transaction).
import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { inject } from 'vitest';

export type Sql = postgres.Sql;
export type Tx = postgres.TransactionSql;

/** As postgres, not a superuser: the role of SUPABASE_DB_URL on hosted Supabase. */
export function connect(options: { max?: number } = {}): Sql {
  return postgres(inject('stack').dbUrl, { max: options.max ?? 4, onnotice: () => {} });
}

/** As supabase_admin, the superuser: only for what the platform itself does (GoTrue, pg_net's worker). */
export function connectAdmin(options: { max?: number } = {}): Sql {
  return postgres(inject('stack').adminDbUrl, { max: options.max ?? 1, onnotice: () => {} });
}

export type Actor = { kind: 'anon' } | { kind: 'user'; id: string; email?: string } | { kind: 'service_role' };

export function claimsOf(actor: Actor): { role: string; claims: Record<string, unknown> } {
  switch (actor.kind) {
    case 'anon':
      return { role: 'anon', claims: { role: 'anon' } };
    case 'service_role':
      return { role: 'service_role', claims: { role: 'service_role' } };
    case 'user':
      return {
        role: 'authenticated',
        claims: { sub: actor.id, role: 'authenticated', aud: 'authenticated', email: actor.email ?? '' },
      };
  }
}

/** Runs fn in a transaction as PostgREST would for this actor. */
export async function asActor<T>(sql: Sql, actor: Actor, fn: (tx: Tx) => Promise<T>): Promise<T> {
  const { role, claims } = claimsOf(actor);
  return (await sql.begin(async (tx) => {
    await tx`select set_config('role', ${role}, true), set_config('request.jwt.claims', ${JSON.stringify(claims)}, true)`;
    return fn(tx);
  })) as T;
}

class Rollback extends Error {}

/** Like asActor, but always rolls back: the outcome is returned, nothing is kept. */
export async function tryAsActor<T>(sql: Sql, actor: Actor, fn: (tx: Tx) => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; code: string; message: string }> {
  let outcome: { ok: true; value: T } | { ok: false; code: string; message: string } | undefined;
  try {
    await asActor(sql, actor, async (tx) => {
      try {
        outcome = { ok: true, value: await fn(tx) };
      } catch (error) {
        const e = error as { code?: string; message?: string };
        outcome = { ok: false, code: e.code ?? 'unknown', message: e.message ?? String(error) };
      }
      throw new Rollback();
    });
  } catch (error) {
    if (!(error instanceof Rollback)) throw error;
  }
  return outcome!;
}

/**
 * A new confirmed user in auth.users, with the columns GoTrue fills (the
 * table defaults none of them: GoTrue, not the table, chooses the id), but no
 * identity or session: a user that only scripts and tests use. Written as postgres.
 */
export async function createUser(sql: Sql, label = 'user'): Promise<{ id: string; email: string }> {
  const email = `${label}-${randomUUID()}@example.test`;
  const [row] = await sql<{ id: string; email: string }[]>`
    insert into auth.users (instance_id, id, aud, role, email, email_confirmed_at, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
    values ('00000000-0000-0000-0000-000000000000', ${randomUUID()}, 'authenticated', 'authenticated', ${email}, now(),
            ${sql.json({ provider: 'email', providers: ['email'] })}, ${sql.json({})}, now(), now())
    returning id, email`;
  return row!;
}
