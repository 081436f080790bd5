// The job queue's status report, from readJobStatus and from `strata jobs
// status` (--json and text), against the test stack. Jobs of every state are
// inserted directly for random subjects and the counts are compared with a
// reading taken before (other tests leave jobs behind). The due job and the
// running job with an expired lease are the only ones a worker or the sweep
// would touch: a transaction holds them FOR UPDATE while the readings are
// taken, so claims (SKIP LOCKED) pass them by and the sweep waits.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ERRORS_PER_KIND, JOB_COUNTS_SQL, JOB_ERRORS_SQL, readJobStatus, type JobCounts, type JobStatus } from '../../supabase/functions/_shared/jobs/status.ts';
import { api } from '../helpers/archive.ts';
import { connect, type Sql } from '../helpers/db.ts';

const stack = inject('stack');
const WORKER = 'jobs-status-test';
const COUNTS = ['due', 'scheduled', 'running', 'expired_leases', 'dead', 'done_last_hour'] as const;
type Delta = Record<(typeof COUNTS)[number], number>;

function strata(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(process.execPath, ['bin/strata.mjs', ...args], { env: { ...process.env, STRATA_STATE_DIR: stack.stateDir } }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

const countsOf = (status: JobStatus, kind: string): JobCounts => {
  if (kind === 'total') return status.total;
  const found = status.kinds.find((k) => k.kind === kind);
  if (!found) throw new Error(`kind ${kind} missing from the status`);
  return found;
};
const delta = (before: JobCounts, after: JobCounts): Delta =>
  Object.fromEntries(COUNTS.map((key) => [key, after[key] - before[key]])) as Delta;

/** A reading once two in a row agree (leftover jobs of earlier files may still be moving). */
async function quietReading(sql: Sql): Promise<JobStatus> {
  let last = await readJobStatus(sql);
  for (let i = 0; i < 20; i++) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    const next = await readJobStatus(sql);
    const same = [...next.kinds.map((k) => k.kind), 'total'].every((kind) =>
      COUNTS.every((key) => countsOf(next, kind)[key] === countsOf(last, kind)[key]),
    );
    if (same) return next;
    last = next;
  }
  return last;
}

const subject = () => randomUUID();
const erase = {
  due: subject(), later: subject(), backingOff: subject(), running: subject(), expired: subject(),
  dead: subject(), done1: subject(), done2: subject(), doneLongAgo: subject(),
};
// delete_analysis jobs with errors, newest first: two backing off, four dead.
const analysisErrors = Array.from({ length: 6 }, (_, i) => ({
  subject: subject(),
  status: i < 2 ? ('pending' as const) : ('dead' as const),
  attempts: i < 2 ? 3 : 8,
  message: `analysis object gone (status test ${i})`,
}));
const allSubjects = [...Object.values(erase), ...analysisErrors.map((e) => e.subject)];
const LONG_ERROR = `S3 timed out\n  at PutObject ${'x'.repeat(300)}`;

// The jobs with errors carry updated_at a day ahead, so that no real failure
// during the test is newer than them.
async function insertJobs(sql: Sql): Promise<void> {
  await sql`
    insert into private.jobs (kind, subject_id, status, attempts, run_after, lease_until, locked_by, last_error, updated_at, finished_at)
    values ('erase_user_objects', ${erase.due}, 'pending', 0, now() - interval '5 minutes', null, null, null, now(), null),
           ('erase_user_objects', ${erase.later}, 'pending', 0, now() + interval '1 hour', null, null, null, now(), null),
           ('erase_user_objects', ${erase.backingOff}, 'pending', 2, now() + interval '2 hours', null, null, ${LONG_ERROR},
            now() + interval '1 day' - interval '1 minute', null),
           ('erase_user_objects', ${erase.running}, 'running', 1, now(), now() + interval '1 hour', ${WORKER}, null, now(), null),
           ('erase_user_objects', ${erase.expired}, 'running', 1, now(), now() - interval '1 minute', ${WORKER}, null, now(), null),
           ('erase_user_objects', ${erase.dead}, 'dead', 8, now(), null, null, 'bucket refused the delete',
            now() + interval '1 day' - interval '2 minutes', null),
           ('erase_user_objects', ${erase.done1}, 'done', 1, now(), null, null, null, now(), now() - interval '10 minutes'),
           ('erase_user_objects', ${erase.done2}, 'done', 1, now(), null, null, null, now(), now() - interval '59 minutes'),
           ('erase_user_objects', ${erase.doneLongAgo}, 'done', 1, now(), null, null, null, now(), now() - interval '2 hours')`;
  for (const [i, job] of analysisErrors.entries()) {
    await sql`
      insert into private.jobs (kind, subject_id, status, attempts, run_after, last_error, updated_at)
      values ('delete_analysis', ${job.subject}, ${job.status}, ${job.attempts}, now() + interval '1 hour', ${job.message},
              now() + interval '1 day' - make_interval(mins => ${10 + i}))`;
  }
}

const EXPECTED: Record<string, Delta> = {
  erase_user_objects: { due: 1, scheduled: 2, running: 2, expired_leases: 1, dead: 1, done_last_hour: 2 },
  delete_analysis: { due: 0, scheduled: 2, running: 0, expired_leases: 0, dead: 4, done_last_hour: 0 },
  total: { due: 1, scheduled: 4, running: 2, expired_leases: 1, dead: 5, done_last_hour: 2 },
};

function expectReading(after: JobStatus): void {
  for (const [kind, expected] of Object.entries(EXPECTED)) {
    expect(delta(countsOf(before, kind), countsOf(after, kind)), kind).toEqual(expected);
  }
  // The due job has waited five minutes (an older leftover could have waited longer).
  expect(countsOf(after, 'erase_user_objects').oldest_due_seconds).toBeGreaterThanOrEqual(299);
  expect(after.total.oldest_due_seconds).toBeGreaterThanOrEqual(299);

  const analysis = after.kinds.find((k) => k.kind === 'delete_analysis')!;
  expect(analysis.errors).toHaveLength(ERRORS_PER_KIND);
  expect(analysis.errors).toEqual(
    analysisErrors.slice(0, ERRORS_PER_KIND).map((job) => ({
      id: expect.any(Number),
      kind: 'delete_analysis',
      subject_id: job.subject,
      status: job.status,
      attempts: job.attempts,
      max_attempts: 8,
      last_error: job.message,
      updated_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    })),
  );
  const eraseErrors = after.kinds.find((k) => k.kind === 'erase_user_objects')!.errors;
  expect(eraseErrors.slice(0, 2).map((e) => [e.subject_id, e.status, e.attempts, e.last_error])).toEqual([
    [erase.backingOff, 'pending', 2, LONG_ERROR],
    [erase.dead, 'dead', 8, 'bucket refused the delete'],
  ]);
}

let sql: Sql;
let before: JobStatus;
beforeAll(() => {
  sql = connect({ max: 4 });
});
afterAll(() => sql.end());

describe('with jobs of every state, the due and expired ones held from workers', () => {
  let held: Awaited<ReturnType<Sql['reserve']>> | null = null;
  const removeJobs = () => sql`delete from private.jobs where subject_id in ${sql(allSubjects)}`;

  beforeAll(async () => {
    before = await quietReading(sql);
    // Between the insert and the lock a worker or the sweep could take the
    // due or the expired job; then start again.
    for (let attempt = 1; ; attempt++) {
      await insertJobs(sql);
      held = await sql.reserve();
      await held`begin`;
      const locked = await held`
        select id from private.jobs
         where (subject_id = ${erase.due} and status = 'pending' and attempts = 0)
            or (subject_id = ${erase.expired} and status = 'running' and locked_by = ${WORKER})
           for update`;
      if (locked.length === 2) return;
      await held`rollback`;
      held.release();
      held = null;
      await removeJobs();
      if (attempt === 3) throw new Error('a worker kept taking the test jobs before they could be held');
    }
  });

  afterAll(async () => {
    // Deleted while still held, so that the sweep never reclaims the expired job.
    if (held) {
      await held`delete from private.jobs where subject_id in ${held(allSubjects)}`;
      await held`commit`;
      held.release();
    }
    await removeJobs();
  });

  it('readJobStatus counts due, backing off, running, expired leases, dead and done in the last hour per kind and in total, with the last errors newest first', async () => {
    const after = await readJobStatus(sql);
    expectReading(after);
    expect(Date.parse(after.at)).toBeGreaterThan(Date.parse(before.at));
  });

  it('readJobStatus lists every registered kind, quiet ones with zeros, in name order', async () => {
    const after = await readJobStatus(sql);
    const registered = await sql<{ kind: string }[]>`select kind from private.job_kinds order by kind`;
    expect(after.kinds.map((k) => k.kind)).toEqual(registered.map((r) => r.kind));
    for (const kind of after.kinds) {
      expect(kind.errors.length).toBeLessThanOrEqual(ERRORS_PER_KIND);
      expect(kind.oldest_due_seconds === null, kind.kind).toBe(kind.due === 0);
    }
  });

  it('strata jobs status --json prints the same object, with the target', async () => {
    const result = await strata('jobs', 'status', '--json');
    expect(result.code, result.stderr).toBe(0);
    const printed = JSON.parse(result.stdout) as JobStatus & { target: { kind: string; bucket: string } };
    expect(printed.target).toMatchObject({ kind: 'local stack', bucket: inject('stack').s3Bucket });
    expectReading(printed);
  });

  it('strata jobs status prints an aligned table per kind with ages, and the errors below it', async () => {
    const result = await strata('jobs', 'status');
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.split('\n');
    const header = lines.find((line) => line.startsWith('KIND'))!;
    expect(header.split(/\s{2,}/)).toEqual(['KIND', 'DUE', 'BACKING OFF', 'RUNNING', 'LEASE EXPIRED', 'DEAD', 'DONE 1H', 'OLDEST DUE']);
    const row = (kind: string) => {
      const line = lines.find((l) => l.startsWith(`${kind} `))!;
      expect(line, kind).toBeDefined();
      // Numbers end where their header ends; the age starts where its header starts.
      for (const title of ['DUE', 'BACKING OFF', 'RUNNING', 'LEASE EXPIRED', 'DEAD', 'DONE 1H']) {
        const end = header.indexOf(` ${title} `) + title.length + 1;
        expect(line.slice(end - 1, end + 1), `${kind} ${title}`).toMatch(/^\d $/);
      }
      expect(line[header.indexOf('OLDEST DUE') - 1]).toBe(' ');
      expect(line[header.indexOf('OLDEST DUE')]).toMatch(/[-\d]/);
      const cells = line.split(/\s{2,}/);
      return { counts: cells.slice(1, 7).map(Number), oldest: cells[7] };
    };
    for (const kind of Object.keys(EXPECTED)) {
      const counts = countsOf(before, kind);
      expect(row(kind).counts, kind).toEqual(COUNTS.map((key) => counts[key] + EXPECTED[kind]![key]));
    }
    // Five minutes and some seconds, unless a leftover has waited longer.
    expect(row('erase_user_objects').oldest).toMatch(/^(\d+m \d+s|\d+h \d+m|\d+d \d+h)$/);
    expect(row('delete_analysis').oldest).toMatch(/^(-|\d+s|\d+m \d+s|\d+h \d+m|\d+d \d+h)$/);

    const errors = result.stdout.slice(result.stdout.indexOf('\nLast errors'));
    expect(errors).toMatch(
      new RegExp(`\\n  delete_analysis ${analysisErrors[0]!.subject} \\(job \\d+, pending, attempt 3/8, 0s ago\\): analysis object gone \\(status test 0\\)\\n`),
    );
    expect(errors).toContain(`delete_analysis ${analysisErrors[4]!.subject} (job `);
    expect(errors).not.toContain(analysisErrors[5]!.subject);
    // A long error on several lines is shown on one, cut short.
    const long = errors.split('\n').find((line) => line.includes(erase.backingOff))!;
    expect(long).toMatch(/\(job \d+, pending, attempt 2\/8, 0s ago\): S3 timed out at PutObject x+…$/);
    expect(long.length).toBeLessThan(300);
  });
});

describe('the status statements', () => {
  type PlanNode = { 'Node Type': string; 'Relation Name'?: string; 'Index Name'?: string; Plans?: PlanNode[] };
  const nodes = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(nodes)];

  it.each([
    ['counts', JOB_COUNTS_SQL, ['jobs_due_idx', 'jobs_lease_idx', 'jobs_one_live_per_subject', 'jobs_finished_at_idx']],
    ['errors', JOB_ERRORS_SQL, ['jobs_one_live_per_subject']],
  ])('%s: every branch can read private.jobs through a partial index (no full scan of the done history)', async (_, statement, indexes) => {
    // With sequential scans priced out, a branch without an index path would still show one.
    const plan = await sql.begin(async (tx) => {
      await tx`set local enable_seqscan = off`;
      const [row] = await tx.unsafe(`explain (format json) ${statement}`);
      return (row!['QUERY PLAN'] as Array<{ Plan: PlanNode }>)[0]!.Plan;
    });
    const onJobs = nodes(plan).filter((node) => node['Relation Name'] === 'jobs');
    expect(onJobs.length).toBeGreaterThan(0);
    expect(onJobs.filter((node) => node['Node Type'] === 'Seq Scan')).toEqual([]);
    // Which partial index serves which branch is the planner's choice; at least one of them is used.
    const used = new Set(nodes(plan).map((node) => node['Index Name']).filter(Boolean));
    expect(indexes.some((index) => used.has(index)), JSON.stringify([...used])).toBe(true);
  });
});

describe('strata jobs status arguments', () => {
  it.each([
    [['jobs'], 'no action'],
    [['jobs', 'stats'], 'an unknown action'],
    [['jobs', 'status', 'extra'], 'an extra argument'],
    [['jobs', 'status', '--verbose'], 'an unknown flag'],
  ])('refuses %j (%s) with invalid_arguments, in JSON and in text', async (args) => {
    const json = await strata(...args, '--json');
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toEqual({ error: { code: 'invalid_arguments', message: expect.stringContaining('strata jobs status [--json]') } });
    const text = await strata(...args);
    expect(text.code).toBe(1);
    expect(text.stdout).toBe('');
    expect(text.stderr).toMatch(/^error: /);
  });
});

describe('GET /functions/v1/archive-worker/status', () => {
  it('answers the service role with the same shape, and nobody else', async () => {
    const stack = inject('stack');
    const status = await api('/archive-worker/status', { token: stack.serviceRoleKey });
    expect(status.status).toBe(200);
    expect(status.body.kinds.map((k: { kind: string }) => k.kind)).toEqual(expect.arrayContaining(['archive_conversation', 'process_file', 'erase_user_objects']));
    expect(status.body.total).toMatchObject({ due: expect.any(Number), dead: expect.any(Number), done_last_hour: expect.any(Number) });
    expect((await api('/archive-worker/status', { token: stack.anonKey })).status).toBe(401);
    expect((await api('/archive-worker/status', { token: stack.serviceRoleKey, method: 'POST' })).status).toBe(405);
  });
});
