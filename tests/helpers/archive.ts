// Helpers for archive tests: seeding conversations, waiting for the pipeline,
// calling the functions, and running a worker in this process (the same code
// the archive-worker function runs) against the fault proxy.
import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { signJwt } from '../../src/auth/jwt.ts';
import { functionsEnvOf } from '../../src/dev/state.ts';
import { archiveConversation } from '../../supabase/functions/_shared/archive/jobs.ts';
import { readArchiveSettings } from '../../supabase/functions/_shared/archive/settings.ts';
import type { BudgetLimits } from '../../supabase/functions/_shared/jobs/budget.ts';
import { startBudget } from '../../supabase/functions/_shared/jobs/budget.ts';
import { createJobHandlers } from '../../supabase/functions/_shared/jobs/handlers.ts';
import type { ConfiguredS3 } from '../../supabase/functions/_shared/jobs/registry.ts';
import { readWorkerSettings } from '../../supabase/functions/_shared/jobs/settings.ts';
import { drainJobs, type DrainSummary } from '../../supabase/functions/_shared/jobs/worker.ts';
import { readS3Config } from '../../supabase/functions/_shared/config.ts';
import { createSql } from '../../supabase/functions/_shared/db/client.ts';
import { createS3Client } from '../../supabase/functions/_shared/s3/client.ts';
import { TEST_FUNCTION_ENV } from '../setup/stack.ts';
import type { Sql } from './db.ts';

export function tokenFor(user: { id: string; email?: string }): string {
  const stack = inject('stack');
  return signJwt(
    { sub: user.id, email: user.email ?? '', role: 'authenticated', aud: 'authenticated', exp: Math.floor(Date.now() / 1000) + 3600 },
    stack.jwtSecret,
  );
}

export async function api(path: string, options: { token?: string; method?: string; body?: unknown } = {}) {
  const stack = inject('stack');
  const response = await fetch(`${stack.functionsUrl}${path}`, {
    method: options.method ?? 'GET',
    headers: {
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body),
  });
  const text = await response.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: response.status, body, text, headers: response.headers };
}

/** Creates conversations with `messages` messages each, straight in SQL. */
export async function seedConversations(sql: Sql, userId: string, count: number, messages = 3): Promise<string[]> {
  const ids = Array.from({ length: count }, () => randomUUID());
  for (let i = 0; i < ids.length; i += 500) {
    const chunk = ids.slice(i, i + 500);
    await sql`insert into conversations (id, user_id, title) select unnest(${chunk}::uuid[]), ${userId}, 'seeded'`;
    if (messages > 0) {
      await sql`
        insert into messages (conversation_id, user_id, role, content)
        select c, ${userId}, (array['user', 'assistant'])[1 + (n % 2)], 'message ' || n || ' of ' || c
          from unnest(${chunk}::uuid[]) c, generate_series(1, ${messages}) n`;
    }
  }
  return ids;
}

export async function archiveStates(sql: Sql, ids: string[]) {
  return sql<{ conversation_id: string; status: string; attempts: number; last_error: string | null; live: boolean }[]>`
    select i.id as conversation_id, coalesce(a.status, 'none') as status, coalesce(a.attempts, 0) as attempts, a.last_error,
           exists (select 1 from conversations c where c.id = i.id) as live
      from unnest(${ids}::uuid[]) i(id) left join archived_conversations a on a.conversation_id = i.id`;
}

/** Waits until every id is archived (stored, conversation gone). */
export async function waitForArchived(sql: Sql, ids: string[], timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [row] = await sql<{ done: number }[]>`
      select count(*)::int as done from archived_conversations
       where conversation_id = any(${ids}::uuid[]) and status = 'stored'
         and not exists (select 1 from conversations c where c.id = conversation_id)`;
    if (row!.done === ids.length) return;
    if (Date.now() > deadline) {
      const states = await archiveStates(sql, ids);
      const summary = states.reduce<Record<string, number>>((acc, s) => ((acc[s.status] = (acc[s.status] ?? 0) + 1), acc), {});
      throw new Error(`only ${row!.done}/${ids.length} archived after ${timeoutMs} ms: ${JSON.stringify(summary)}; e.g. ${JSON.stringify(states.find((s) => s.status !== 'stored'))}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}

/** Calls the archive-worker function and waits for its drain to finish. */
export async function runEdgeWorker(): Promise<DrainSummary> {
  const stack = inject('stack');
  const result = await api('/archive-worker?wait=true', { token: stack.serviceRoleKey, method: 'POST', body: { wake: true } });
  if (result.status !== 200) throw new Error(`archive-worker answered ${result.status}: ${result.text}`);
  return result.body as DrainSummary;
}

/** The functions' environment, for running their code in this process. */
export function functionEnv(overrides: Record<string, string | undefined> = {}): (name: string) => string | undefined {
  const stack = inject('stack');
  const values: Record<string, string | undefined> = {
    ...functionsEnvOf(stack),
    // The functions reach S3 through the fault proxy.
    S3_ENDPOINT: inject('functionsS3Endpoint'),
    ...TEST_FUNCTION_ENV,
    ...overrides,
  };
  return (name) => values[name];
}

/**
 * Runs a worker in this process (same code as the archive-worker function).
 * Its CPU is not limited unless asked: this process also runs the tests.
 */
export async function runLocalWorker(overrides: Record<string, string | undefined> = {}, limits: Partial<BudgetLimits> = {}): Promise<DrainSummary> {
  const env = functionEnv(overrides);
  const s3Config = readS3Config(env);
  const sql = createSql(env('SUPABASE_DB_URL')!, { max: 10 });
  try {
    return await drainJobs(
      {
        sql,
        s3: s3Config.configured ? createS3Client(s3Config) : null,
        s3Config,
        settings: readWorkerSettings(env),
        handlers: createJobHandlers(env),
        workerId: `test-${randomUUID().slice(0, 8)}`,
        log: () => {},
      },
      { cpuMs: 3_600_000, memoryBytes: 8 * 1024 ** 3, ...limits },
    );
  } finally {
    await sql.end();
  }
}

/** Deletes conversations with their jobs held back, so a test decides when workers may run. */
export async function deleteHeld(sql: Sql, ids: string[]): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`delete from conversations where id = any(${ids}::uuid[])`;
    await tx`update private.jobs set run_after = now() + interval '1 hour'
              where kind = 'archive_conversation' and subject_id = any(${ids}::uuid[]) and status = 'pending'`;
  });
}

export async function release(sql: Sql, ids: string[]): Promise<void> {
  await sql`update private.jobs set run_after = now()
             where kind = 'archive_conversation' and subject_id = any(${ids}::uuid[]) and status = 'pending'`;
}

/** Claims one held job by its conversation id and archives it in this process, whatever other workers do. */
export async function archiveHeldHere(sql: Sql, conversationId: string, overrides: Record<string, string | undefined> = {}, limits: Partial<BudgetLimits> = {}) {
  const env = functionEnv(overrides);
  const s3Config = readS3Config(env);
  const workerId = `test-${randomUUID().slice(0, 8)}`;
  const [job] = await sql<{ job_id: string; subject_id: string; user_id: string; attempts: number; max_attempts: number; generation: string }[]>`
    update private.jobs j set status = 'running', attempts = attempts + 1, locked_by = ${workerId}, lease_until = now() + interval '5 minutes'
     where kind = 'archive_conversation' and subject_id = ${conversationId} and status = 'pending'
    returning id as job_id, subject_id, user_id, attempts, max_attempts,
              (select a.generation from archived_conversations a where a.conversation_id = j.subject_id) as generation`;
  if (!job) throw new Error(`no pending job for ${conversationId}`);
  const workerSql = createSql(env('SUPABASE_DB_URL')!, { max: 2 });
  try {
    const settings = readWorkerSettings(env);
    return await archiveConversation(
      {
        sql: workerSql,
        s3: createS3Client(s3Config as ConfiguredS3),
        s3Config: s3Config as ConfiguredS3,
        settings,
        workerId,
        budget: startBudget({ cpuMs: 3_600_000, wallMs: 600_000, memoryBytes: 8 * 1024 ** 3, ...limits }),
        log: () => {},
      },
      { ...job, kind: 'archive_conversation', payload: { generation: job.generation } },
      readArchiveSettings(env),
    );
  } finally {
    await workerSql.end();
  }
}
