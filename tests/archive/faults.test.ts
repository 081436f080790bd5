// Faults injected with real processes: the S3 server stopped, a proxy that
// answers 500 or hangs, the functions process killed mid-batch, concurrent
// workers, repeated wake-ups, and a poison job. After each, nothing is lost
// (the invariant in tests/setup/invariant.ts) and nothing is duplicated.
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { listKeys } from '../../supabase/functions/_shared/s3/objects.ts';
import type { DrainSummary } from '../../supabase/functions/_shared/jobs/worker.ts';
import {
  api,
  archiveStates,
  deleteHeld,
  release,
  runEdgeWorker,
  runLocalWorker,
  seedConversations,
  waitForArchived,
  waitUntil,
} from '../helpers/archive.ts';
import { control } from '../helpers/control.ts';
import { connect, createUser, type Sql } from '../helpers/db.ts';
import { directS3 } from '../helpers/s3.ts';

let sql: Sql;
let user: { id: string; email: string };
beforeAll(async () => {
  sql = connect({ max: 8 });
  user = await createUser(sql, 'faults');
});
afterEach(async () => {
  // Whatever a test did, leave the stack healthy for the next one.
  await control.proxy('pass');
  await control.startS3();
  await control.startFunctions();
});
afterAll(() => sql.end());

async function objectCount(userId: string): Promise<number> {
  const { s3, bucket } = directS3();
  let n = 0;
  for await (const _ of listKeys(s3, bucket, `archived_conversations/${userId}/`)) n++;
  return n;
}

describe('faults', () => {
  it('S3 stopped while 500 conversations are deleted, then started: all archived, none lost, none duplicated', async () => {
    const owner = await createUser(sql, 's3-down');
    const ids = await seedConversations(sql, owner.id, 500, 2);
    await control.stopS3();
    // Deleted in 10 statements while S3 is down; workers are woken and fail.
    for (let i = 0; i < ids.length; i += 50) await sql`delete from conversations where id = any(${ids.slice(i, i + 50)}::uuid[])`;
    await waitUntil('failed attempts', async () => (await archiveStates(sql, ids)).some((s) => s.attempts >= 1 && s.last_error !== null));
    const during = await archiveStates(sql, ids);
    expect(during.filter((s) => s.status === 'stored')).toHaveLength(0);
    expect(during.every((s) => s.live)).toBe(true); // every row still in Postgres
    expect(during.find((s) => s.last_error)?.last_error).toMatch(/S3|timed out/);

    await control.startS3();
    await waitForArchived(sql, ids, 120_000);
    expect(await objectCount(owner.id)).toBe(500);
    const [{ rows }] = await sql`select count(*)::int as rows from archived_conversations where user_id = ${owner.id}`;
    expect(rows).toBe(500);
  });

  it('a proxy answering 500 makes jobs retry with back-off, then they complete', async () => {
    const ids = await seedConversations(sql, user.id, 20, 1);
    await control.proxy('error500');
    await sql`delete from conversations where id = any(${ids}::uuid[])`;
    await waitUntil('a failed attempt', async () => (await archiveStates(sql, ids)).some((s) => s.last_error?.includes('HTTP 500')));
    const [job] = await sql`select attempts, run_after > now() as backing_off from private.jobs where subject_id = any(${ids}::uuid[]) and last_error is not null limit 1`;
    expect(job!.attempts).toBeGreaterThanOrEqual(1);
    await control.proxy('pass');
    await waitForArchived(sql, ids, 90_000);
  });

  it('a proxy that hangs times out the requests; the jobs complete once it answers again', async () => {
    const ids = await seedConversations(sql, user.id, 10, 1);
    await deleteHeld(sql, ids);
    await control.proxy('hang');
    await release(sql, ids);
    // Whichever worker takes them (this one, or a woken edge worker), the attempts time out.
    const local = runLocalWorker({}, { wallMs: 8_000 });
    await waitUntil('a timed-out attempt', async () => (await archiveStates(sql, ids)).some((s) => /timed out|S3/.test(s.last_error ?? '')));
    const during = await archiveStates(sql, ids);
    expect(during.every((s) => s.live && s.status !== 'stored')).toBe(true);
    await local;
    await control.proxy('pass');
    await waitForArchived(sql, ids, 90_000);
  });

  it('a worker process killed mid-batch: its leases expire and another worker finishes', async () => {
    const ids = await seedConversations(sql, user.id, 40, 2);
    await deleteHeld(sql, ids);
    // Uploads hang, so the edge worker is mid-batch holding leases when it dies.
    await control.proxy('hang');
    await release(sql, ids);
    void api('/archive-worker', { token: inject('stack').serviceRoleKey, method: 'POST', body: {} });
    await waitUntil('jobs claimed', async () => {
      const [{ running }] = await sql`select count(*)::int as running from private.jobs where subject_id = any(${ids}::uuid[]) and status = 'running'`;
      return running > 0;
    });
    await control.killFunctions();
    await control.proxy('pass');
    const [{ orphaned }] = await sql`select count(*)::int as orphaned from private.jobs where subject_id = any(${ids}::uuid[]) and status = 'running'`;
    expect(orphaned).toBeGreaterThan(0);
    // Another worker (a separate process: the functions runtime, restarted) takes over after the leases expire.
    await control.startFunctions();
    await waitForArchived(sql, ids, 90_000);
    const [{ retried }] = await sql`select count(*)::int as retried from private.jobs where subject_id = any(${ids}::uuid[]) and attempts >= 2`;
    expect(retried).toBeGreaterThan(0);
  });

  it('four workers at once archive each conversation exactly once', async () => {
    const owner = await createUser(sql, 'four-workers');
    const ids = await seedConversations(sql, owner.id, 300, 2);
    await deleteHeld(sql, ids);
    await release(sql, ids);
    const summaries = await Promise.all([runEdgeWorker(), runEdgeWorker(), runLocalWorker(), runLocalWorker()]);
    await waitForArchived(sql, ids, 60_000);
    // Only the lease holder can complete a job, so however the work was shared
    // (and even if a lease expired under load) no conversation completes twice.
    const archivedBy = (s: DrainSummary) => s.by_kind.archive_conversation?.done ?? 0;
    const archivedByWorkers = summaries.reduce((n, s) => n + archivedBy(s), 0);
    expect(archivedByWorkers).toBeLessThanOrEqual(300);
    expect(summaries.filter((s) => archivedBy(s) > 0).length).toBeGreaterThan(1);
    expect(summaries.every((s) => s.dead === 0)).toBe(true);
    const [{ done }] = await sql`select count(*)::int as done from private.jobs where subject_id = any(${ids}::uuid[]) and status = 'done'`;
    expect(done).toBe(300);
    expect(await objectCount(owner.id)).toBe(300);
  });

  it('repeated wake-ups are harmless', async () => {
    const ids = await seedConversations(sql, user.id, 50, 1);
    await sql`delete from conversations where id = any(${ids}::uuid[])`;
    const stack = inject('stack');
    const wakes = await Promise.all(Array.from({ length: 20 }, () => api('/archive-worker', { token: stack.serviceRoleKey, method: 'POST', body: { type: 'DELETE', table: 'conversations', record: null, old_record: { id: ids[0] } } })));
    expect(wakes.every((w) => w.status === 202)).toBe(true);
    await sql`select private.jobs_sweep()`;
    await waitForArchived(sql, ids, 60_000);
    const [{ multi }] = await sql`select count(*)::int as multi from private.jobs where subject_id = any(${ids}::uuid[]) and (attempts <> 1 or status <> 'done')`;
    expect(multi).toBe(0);
  });

  it('refuses wake-ups without service credentials', async () => {
    const stack = inject('stack');
    for (const token of [undefined, stack.anonKey]) {
      const result = await api('/archive-worker', { token, method: 'POST', body: {} });
      expect(result.status).toBe(401);
    }
  });

  it('a poison job dead-letters with its error kept while the others proceed; an operator can retry it', async () => {
    const [poison] = await seedConversations(sql, user.id, 1, 1);
    const others = await seedConversations(sql, user.id, 20, 1);
    await control.proxy('pass', poison);
    await sql.begin(async (tx) => {
      await tx`delete from conversations where id = any(${[poison!, ...others]}::uuid[])`;
      await tx`update private.jobs set max_attempts = 3 where subject_id = ${poison!}`;
    });
    await waitForArchived(sql, others, 60_000);
    await waitUntil('the poison job to dead-letter', async () => {
      await sql`select private.jobs_sweep()`;
      const [job] = await sql`select status from private.jobs where subject_id = ${poison!}`;
      return job!.status === 'dead';
    }, 60_000);
    const [index] = await sql`select status, last_error, attempts from archived_conversations where conversation_id = ${poison!}`;
    expect(index).toMatchObject({ status: 'failed', attempts: 3, last_error: expect.stringContaining('HTTP 500') });
    expect(await sql`select 1 from conversations where id = ${poison!}`).toHaveLength(1);

    await control.proxy('pass');
    const { execFile } = await import('node:child_process');
    const output = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['bin/strata.mjs', 'archive', 'retry', '--conversation', poison!, '--json'], {
        env: { ...process.env, STRATA_STATE_DIR: inject('stack').stateDir },
      }, (error, stdout) => (error ? reject(error) : resolve(stdout))),
    );
    expect(JSON.parse(output)).toEqual({ target: expect.objectContaining({ kind: 'local stack' }), retried: 1 });
    await waitForArchived(sql, [poison!], 60_000);
  });
});
