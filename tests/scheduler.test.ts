// The dev scheduler runs private.scheduled_jobs, the rows that a migration
// hands to pg_cron on Supabase. (Its schedule parser: tests/unit/cron.test.ts.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Sql } from './helpers/db.ts';

let sql: Sql;
beforeAll(async () => {
  sql = connect();
  await sql`create table if not exists private.scheduler_probe (ran_at timestamptz not null default clock_timestamp())`;
});
afterAll(async () => {
  await sql`delete from private.scheduled_jobs where name = 'strata-test-probe'`;
  await sql`drop table if exists private.scheduler_probe`;
  await sql.end();
});

describe('dev scheduler', () => {
  it('runs a job added to private.scheduled_jobs on its interval', async () => {
    await sql`insert into private.scheduled_jobs (name, schedule, command)
              values ('strata-test-probe', '1 seconds', 'insert into private.scheduler_probe default values')`;
    let runs = 0;
    for (let i = 0; i < 80 && runs < 2; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      [{ runs }] = (await sql`select count(*)::int as runs from private.scheduler_probe`) as unknown as [{ runs: number }];
    }
    expect(runs).toBeGreaterThanOrEqual(2);
  });

  it('refuses a schedule pg_cron would not accept', async () => {
    const error = await sql`insert into private.scheduled_jobs (name, schedule, command)
                            values ('strata-test-bad', 'every minute', 'select 1')`.catch((e) => e);
    expect(error.code).toBe('23514');
  });
});
