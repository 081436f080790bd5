// The job history stays bounded: finished jobs and expiry runs older than
// private.settings.job_retention_hours are pruned on a schedule; dead jobs
// (kept for an operator to retry) and recent history stay.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Sql } from '../helpers/db.ts';

let sql: Sql;
beforeAll(() => {
  sql = connect();
});
afterAll(() => sql.end());

describe('pruning finished jobs', () => {
  it('deletes old finished jobs and expiry runs, keeps dead and recent ones, and is scheduled hourly', async () => {
    const ids = { oldDone: randomUUID(), newDone: randomUUID(), oldDead: randomUUID() };
    await sql`
      insert into private.jobs (kind, subject_id, status, finished_at, created_at)
      values ('erase_user_objects', ${ids.oldDone}, 'done', now() - interval '8 days', now() - interval '8 days'),
             ('erase_user_objects', ${ids.newDone}, 'done', now() - interval '1 hour', now() - interval '1 hour'),
             ('erase_user_objects', ${ids.oldDead}, 'dead', null, now() - interval '30 days')`;
    const [oldRun] = await sql`insert into private.expiry_runs (policy, started_at, finished_at)
                               values ('archive', now() - interval '9 days', now() - interval '9 days') returning id`;
    const [newRun] = await sql`insert into private.expiry_runs (policy, finished_at) values ('archive', now()) returning id`;

    const [{ report }] = await sql`select private.prune_jobs() as report`;
    expect(report.jobs).toBeGreaterThanOrEqual(1);
    expect(report.expiry_runs).toBeGreaterThanOrEqual(1);
    const left = await sql`select subject_id from private.jobs where subject_id in (${ids.oldDone}, ${ids.newDone}, ${ids.oldDead}) order by status, subject_id`;
    expect(left.map((r) => r.subject_id).sort()).toEqual([ids.newDone, ids.oldDead].sort());
    const runs = await sql`select id from private.expiry_runs where id in (${oldRun!.id}, ${newRun!.id})`;
    expect(runs.map((r) => String(r.id))).toEqual([String(newRun!.id)]);

    const [schedule] = await sql`select schedule, command from private.scheduled_jobs where name = 'strata-prune-jobs'`;
    expect(schedule).toEqual({ schedule: '45 * * * *', command: 'select private.prune_jobs()' });
    await sql`delete from private.jobs where subject_id = ${ids.oldDead}`;
  });

  it('removes the gate passes of ended transactions, never those of one in progress', async () => {
    await sql`insert into private.gate_passes (txid, gate, subject) values (pg_current_xact_id(), 'erase_user', ${randomUUID()})`;
    const inProgress = await sql.begin(async (tx) => {
      await tx`select private.open_gate('restore', ${randomUUID()})`;
      const [{ pruned }] = await tx`select private.prune_gate_passes() as pruned`;
      const [{ mine }] = await tx`select count(*)::int as mine from private.gate_passes where txid = pg_current_xact_id()`;
      return { pruned, mine };
    });
    expect(inProgress.pruned).toBeGreaterThanOrEqual(1);
    expect(inProgress.mine).toBe(1);
  });
});
