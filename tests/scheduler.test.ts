// The dev scheduler runs private.scheduled_jobs, the rows that a migration
// hands to pg_cron on Supabase; and the schedule parser reads pg_cron syntax.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cronMatches, parseSchedule } from '../src/dev/cron.ts';
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

describe('pg_cron schedule syntax', () => {
  it.each([
    ['5 seconds', { kind: 'interval', seconds: 5 }],
    ['59 seconds', { kind: 'interval', seconds: 59 }],
  ])('reads "%s"', (text, expected) => {
    expect(parseSchedule(text)).toEqual(expected);
  });

  it.each(['0 seconds', '60 seconds', '* * * *', '61 * * * *', '*/0 * * * *', 'a b c d e'])('rejects "%s"', (text) => {
    expect(() => parseSchedule(text)).toThrow(/invalid schedule/);
  });

  it.each([
    ['0 * * * *', '2026-11-23T10:00:30Z', true],
    ['0 * * * *', '2026-11-23T10:01:00Z', false],
    ['*/15 * * * *', '2026-11-23T10:45:00Z', true],
    ['30 3 * * 1-5', '2026-11-23T03:30:00Z', true], // a Monday
    ['30 3 * * 0,6', '2026-11-23T03:30:00Z', false],
    ['0 0 1 * *', '2026-12-01T00:00:00Z', true],
    ['0 0 1 * 7', '2026-11-22T00:00:00Z', true], // Sunday, either day field matches
  ])('"%s" at %s → %s', (text, at, expected) => {
    const schedule = parseSchedule(text);
    if (schedule.kind !== 'cron') throw new Error('expected a cron schedule');
    expect(cronMatches(schedule, new Date(at))).toBe(expected);
  });
});
