// The worker loop against the real queue: every kind has its own slots, so a
// flood of one kind does not hold back another; an invocation whose CPU
// budget runs out stops claiming, holds no job it is not running, and the
// next invocation finishes the rest; jobs given back (beforeunload) do not
// count as attempts; once beforeunload fired, the instance's drains claim
// nothing more. Test-only kinds are registered here, so the stack's own
// worker (which knows only Strata's kinds) never claims them.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { readS3Config } from '../../supabase/functions/_shared/config.ts';
import { createSql } from '../../supabase/functions/_shared/db/client.ts';
import type { BudgetLimits } from '../../supabase/functions/_shared/jobs/budget.ts';
import { createWorkerHandler } from '../../supabase/functions/_shared/jobs/handler.ts';
import type { JobHandler } from '../../supabase/functions/_shared/jobs/registry.ts';
import { readWorkerSettings } from '../../supabase/functions/_shared/jobs/settings.ts';
import { drainJobs, type DrainSummary } from '../../supabase/functions/_shared/jobs/worker.ts';
import { createS3Client } from '../../supabase/functions/_shared/s3/client.ts';
import { functionEnv } from '../helpers/archive.ts';
import { connect, type Sql } from '../helpers/db.ts';

const KINDS = ['test_flood', 'test_urgent', 'test_burn', 'test_held', 'test_unload'];
let sql: Sql;
beforeAll(async () => {
  sql = connect();
  await sql`insert into private.job_kinds (kind, description)
            select k, 'test-only kind' from unnest(${KINDS}::text[]) k on conflict do nothing`;
});
afterAll(async () => {
  await sql`delete from private.jobs where kind = any(${KINDS}::text[])`;
  await sql`delete from private.job_kinds where kind = any(${KINDS}::text[])`;
  await sql.end();
});

async function queue(kind: string, count: number): Promise<void> {
  await sql`insert into private.jobs (kind, subject_id) select ${kind}, gen_random_uuid() from generate_series(1, ${count})`;
}

async function drain(handlers: JobHandler[], limits: Partial<BudgetLimits> = {}, workerId = `test-${randomUUID().slice(0, 8)}`, stop?: AbortSignal) {
  const env = functionEnv();
  const s3Config = readS3Config(env);
  const workerSql = createSql(env('SUPABASE_DB_URL')!, { max: 4 });
  try {
    return await drainJobs(
      { sql: workerSql, s3: createS3Client(s3Config as never), s3Config, settings: readWorkerSettings(env), handlers, workerId, log: () => {}, stop },
      { cpuMs: 3_600_000, wallMs: 60_000, memoryBytes: 8 * 1024 ** 3, ...limits },
    );
  } finally {
    await workerSql.end();
  }
}

/** A handler that takes `ms` (sleeping or burning CPU) and finishes its job. */
function handler(kind: string, concurrency: number, ms: number, how: 'sleep' | 'burn', onDone?: () => void): JobHandler {
  return {
    kind,
    concurrency,
    cpuMs: how === 'burn' ? ms : 1,
    run: async (ctx, job) => {
      if (how === 'sleep') await new Promise((resolve) => setTimeout(resolve, ms));
      else for (const end = performance.now() + ms; performance.now() < end; );
      const [{ finished }] = await ctx.sql<{ finished: boolean }[]>`select private.finish_job(${job.job_id}, ${ctx.workerId}) as finished`;
      onDone?.();
      return finished ? 'done' : 'lost';
    },
  };
}

describe('fair scheduling across kinds', () => {
  it('a flood of one kind does not hold back another: the other finishes while the flood is still queued', async () => {
    await queue('test_flood', 200);
    await queue('test_urgent', 10);
    let floodDone = 0;
    let urgentDone = 0;
    let floodDoneWhenUrgentFinished = -1;
    const summary = await drain(
      [
        handler('test_flood', 2, 25, 'sleep', () => floodDone++),
        handler('test_urgent', 2, 5, 'sleep', () => {
          if (++urgentDone === 10) floodDoneWhenUrgentFinished = floodDone;
        }),
      ],
      { wallMs: 1_500 },
    );
    expect(urgentDone).toBe(10);
    // Two flood slots and two urgent slots: the 10 urgent jobs take about 5
    // rounds, in which the flood finishes about 10 of its 200.
    expect(floodDoneWhenUrgentFinished).toBeGreaterThanOrEqual(0);
    expect(floodDoneWhenUrgentFinished).toBeLessThan(50);
    expect(summary.by_kind.test_urgent).toMatchObject({ claimed: 10, done: 10 });
    expect(summary.stopped_by).toBe('wall');
    // What the flood did not reach stays queued for the next invocation, none of it held.
    const [left] = await sql`select count(*) filter (where status = 'pending')::int as pending,
                                    count(*) filter (where status = 'running')::int as running
                               from private.jobs where kind = 'test_flood'`;
    expect(left).toEqual({ pending: 200 - floodDone, running: 0 });
    await sql`delete from private.jobs where kind in ('test_flood', 'test_urgent')`;
  });
});

describe('the CPU budget of one invocation', () => {
  it('stops claiming when the budget is spent, holds nothing it is not running, and the next invocation finishes', async () => {
    await queue('test_burn', 40);
    const burn = handler('test_burn', 1, 15, 'burn');
    const first = await drain([burn], { cpuMs: 120 });
    expect(first.stopped_by).toBe('cpu');
    expect(first.by_kind.test_burn!.done).toBeGreaterThan(0);
    expect(first.by_kind.test_burn!.done).toBeLessThan(40);
    expect(first.by_kind.test_burn!.claimed).toBe(first.by_kind.test_burn!.done);
    const [held] = await sql`select count(*)::int as n from private.jobs where kind = 'test_burn' and status = 'running'`;
    expect(held!.n).toBe(0);
    const [pending] = await sql`select count(*)::int as n, max(attempts)::int as attempts from private.jobs where kind = 'test_burn' and status = 'pending'`;
    expect(pending).toEqual({ n: 40 - first.by_kind.test_burn!.done, attempts: 0 });

    const rest = await drain([burn]);
    expect(rest.stopped_by).toBe('idle');
    expect(first.by_kind.test_burn!.done + rest.by_kind.test_burn!.done).toBe(40);
    expect(rest.cpu_ms).toBeGreaterThan(0);
  });

  it('jobs given back by an invocation that must stop (beforeunload) are due at once and their attempt does not count', async () => {
    await queue('test_held', 3);
    const [{ claimed }] = await sql`select count(*)::int as claimed from private.claim_jobs('dying-worker', '{"test_held": 3}', 120)`;
    expect(claimed).toBe(3);
    const [{ released }] = await sql`select private.release_jobs('dying-worker') as released`;
    expect(released).toBe(3);
    const rows = await sql`select status, attempts, locked_by, run_after <= now() as due from private.jobs where kind = 'test_held'`;
    expect(rows).toEqual(Array.from({ length: 3 }, () => ({ status: 'pending', attempts: 0, locked_by: null, due: true })));
  });
});

describe('beforeunload: an instance about to be stopped takes no new work', () => {
  const jobsOf = async (kind: string) =>
    (await sql<{ status: string; attempts: number }[]>`select status, attempts from private.jobs where kind = ${kind}`);

  it('a drain whose stop signal is aborted claims nothing more and finishes; the rest stays queued, no attempt counted', async () => {
    await queue('test_unload', 30);
    const stop = new AbortController();
    let started = 0;
    let startedAfterStop = 0;
    const slow = handler('test_unload', 2, 30, 'sleep');
    const watched: JobHandler = {
      ...slow,
      run: (ctx, job) => {
        if (stop.signal.aborted) startedAfterStop++;
        if (++started === 3) stop.abort();
        return slow.run(ctx, job);
      },
    };
    const summary = await drain([watched], {}, undefined, stop.signal);
    expect(summary.stopped_by).toBe('unload');
    expect(startedAfterStop).toBe(0);
    expect(summary.by_kind.test_unload!.done).toBe(3);
    const rows = await jobsOf('test_unload');
    expect(rows.filter((r) => r.status === 'done')).toHaveLength(3);
    expect(rows.filter((r) => r.status === 'pending')).toEqual(Array.from({ length: 27 }, () => ({ status: 'pending', attempts: 0 })));
    await sql`delete from private.jobs where kind = 'test_unload'`;
  });

  it('the archive-worker function: at beforeunload its drain stops claiming and gives back what it holds, and a later wake-up on that instance claims nothing', async () => {
    await queue('test_unload', 30);
    const drains: Promise<unknown>[] = [];
    let unloadListener: (() => void) | null = null;
    let started = 0;
    let startedAfterUnload = 0;
    let unloaded = false;
    const slow = handler('test_unload', 2, 30, 'sleep');
    const fetchHandler = createWorkerHandler(functionEnv(), {
      background: (promise) => drains.push(promise),
      onBeforeUnload: (listener) => (unloadListener = listener),
      handlers: [
        {
          ...slow,
          run: (ctx, job) => {
            if (unloaded) startedAfterUnload++;
            if (++started === 3) {
              unloaded = true;
              unloadListener!();
            }
            return slow.run(ctx, job);
          },
        },
      ],
      workerName: 'test-unload',
    });
    const headers = { authorization: `Bearer ${inject('stack').serviceRoleKey}` };
    const wake = (query = '') => fetchHandler(new Request(`http://functions/archive-worker${query}`, { method: 'POST', headers, body: '{}' }));

    expect((await wake()).status).toBe(202);
    await Promise.all(drains);
    expect(unloaded).toBe(true);
    expect(startedAfterUnload).toBe(0);
    // The jobs in flight at beforeunload were given back (their late finish is
    // "lost"); nothing is left running or with a counted attempt.
    const rows = await jobsOf('test_unload');
    const done = rows.filter((r) => r.status === 'done').length;
    expect(done).toBeLessThanOrEqual(3);
    expect(rows.filter((r) => r.status === 'running')).toEqual([]);
    expect(rows.filter((r) => r.status === 'pending')).toEqual(Array.from({ length: 30 - done }, () => ({ status: 'pending', attempts: 0 })));

    // A wake-up reaching the same instance afterwards claims nothing.
    const late = await wake('?wait=true');
    expect(late.status).toBe(200);
    expect((await late.json()) as DrainSummary).toMatchObject({ stopped_by: 'unload', claimed: 0 });
    expect(startedAfterUnload).toBe(0);
    expect((await jobsOf('test_unload')).filter((r) => r.status === 'pending')).toHaveLength(30 - done);
    await sql`delete from private.jobs where kind = 'test_unload'`;
  });
});
