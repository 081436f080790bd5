// The dev scheduler's reading of pg_cron schedules (src/dev/cron.ts): what it
// accepts, what it refuses, and in which minutes a schedule fires (UTC).
import { describe, expect, it } from 'vitest';
import { cronMatches, parseSchedule } from '../../src/dev/cron.ts';

const range = (from: number, to: number, step = 1) => {
  const values = new Set<number>();
  for (let v = from; v <= to; v += step) values.add(v);
  return values;
};
const set = (...values: number[]) => new Set(values);
const cron = (text: string) => {
  const schedule = parseSchedule(text);
  if (schedule.kind !== 'cron') throw new Error(`expected a cron schedule: ${text}`);
  return schedule;
};

describe('parseSchedule: intervals', () => {
  it.each([
    ['1 second', 1],
    ['5 seconds', 5],
    ['59 seconds', 59],
    ['  30 Seconds  ', 30],
    ['10   SECONDS', 10],
  ])('reads "%s" as every %i s', (text, seconds) => {
    expect(parseSchedule(text)).toEqual({ kind: 'interval', seconds });
  });

  it.each(['0 seconds', '60 seconds', '120 seconds'])('refuses "%s" (seconds must be 1..59)', (text) => {
    expect(() => parseSchedule(text)).toThrow(`invalid schedule "${text}": seconds must be 1..59`);
  });
});

describe('parseSchedule: five fields', () => {
  it('expands "*" to every value of each field', () => {
    expect(parseSchedule('* * * * *')).toEqual({
      kind: 'cron',
      fields: [range(0, 59), range(0, 23), range(1, 31), range(1, 12), range(0, 7)],
      anyDayOfMonth: true,
      anyDayOfWeek: true,
    });
  });

  it.each([
    ['*/15 * * * *', 0, set(0, 15, 30, 45)],
    ['1-10/3 * * * *', 0, set(1, 4, 7, 10)],
    ['1,3,5 * * * *', 0, set(1, 3, 5)],
    ['0-4,50-59/5 * * * *', 0, set(0, 1, 2, 3, 4, 50, 55)],
    ['7 * * * *', 0, set(7)],
    ['0 9-17 * * *', 1, range(9, 17)],
    ['0 */6 * * *', 1, set(0, 6, 12, 18)],
    ['0 0 31 * *', 2, set(31)],
    ['0 0 * 2,8 *', 3, set(2, 8)],
    ['0 0 * * 1-5', 4, set(1, 2, 3, 4, 5)],
    ['0 0 * * 7', 4, set(0, 7)], // 7 is Sunday, like 0
    ['0 0 * * 0', 4, set(0, 7)], // pg_cron sets both Sundays
    ['0 0 * jan,Jul *', 3, set(1, 7)],
    ['0 0 * feb-apr *', 3, set(2, 3, 4)],
    ['0 0 * * MON-fri', 4, set(1, 2, 3, 4, 5)],
    ['0 0 * * sat,sun', 4, set(0, 6, 7)],
    ['0 0 * * mon-sat/2', 4, set(1, 3, 5)],
    ['0 0 */10 * *', 2, set(1, 11, 21, 31)],
  ])('"%s": field %i is %o', (text, field, expected) => {
    expect(cron(text).fields[field]).toEqual(expected);
  });

  it.each([
    ['0 0 * * *', true, true],
    ['0 0 1 * *', false, true],
    ['0 0 * * 1', true, false],
    ['0 0 1 * 1', false, false],
    // A day field that starts with '*' is "any" for pg_cron, step or not.
    ['0 0 */2 * 1', true, false],
    ['0 0 1 * */2', false, true],
  ])('"%s": any day of month %s, any day of week %s', (text, anyDayOfMonth, anyDayOfWeek) => {
    expect(cron(text)).toMatchObject({ anyDayOfMonth, anyDayOfWeek });
  });

  it.each([
    ['', 'expected 5 fields or "N seconds"'],
    ['* * * *', 'expected 5 fields or "N seconds"'],
    ['* * * * * *', 'expected 5 fields or "N seconds"'],
    ['every minute', 'expected 5 fields or "N seconds"'],
    ['a b c d e', 'cannot read "a"'],
    ['1,,2 * * * *', 'cannot read ""'],
    ['-5 * * * *', 'cannot read "-5"'],
    ['*/ * * * *', 'cannot read "*/"'],
    ['60 * * * *', '"60" is outside 0-59'],
    ['61 * * * *', '"61" is outside 0-59'],
    ['5-1 * * * *', '"5-1" is outside 0-59'],
    ['*/0 * * * *', '"*/0" is outside 0-59'],
    ['0 24 * * *', '"24" is outside 0-23'],
    ['0 0 0 * *', '"0" is outside 1-31'],
    ['0 0 32 * *', '"32" is outside 1-31'],
    ['0 0 * 0 *', '"0" is outside 1-12'],
    ['0 0 * 13 *', '"13" is outside 1-12'],
    ['0 0 * * 8', '"8" is outside 0-7'],
    ['0 0 * * 6-8', '"6-8" is outside 0-7'],
    ['5/20 * * * *', '"5/20" has a step without a range (pg_cron refuses it; write "5-59/20")'],
    ['0 0 * * mon/2', '"mon/2" has a step without a range'],
    ['0 0 * january *', 'cannot read "january"'],
    ['0 0 mon * *', 'cannot read "mon"'],
    ['@reboot', '@reboot runs when pg_cron starts'],
    ['@often', 'unknown shorthand'],
    ['@Daily', 'unknown shorthand'],
  ])('refuses "%s": %s', (text, reason) => {
    expect(() => parseSchedule(text)).toThrow(`invalid schedule "${text}": ${reason}`);
  });
});

describe('parseSchedule: shorthands', () => {
  it.each([
    ['@hourly', '0 * * * *'],
    ['@daily', '0 0 * * *'],
    ['@midnight', '0 0 * * *'],
    ['@weekly', '0 0 * * 0'],
    ['@monthly', '0 0 1 * *'],
    ['@yearly', '0 0 1 1 *'],
    ['@annually', '0 0 1 1 *'],
  ])('reads "%s" as "%s"', (shorthand, fields) => {
    expect(parseSchedule(shorthand)).toEqual(parseSchedule(fields));
  });
});

describe('cronMatches (UTC, the minute that contains the date)', () => {
  it.each([
    ['0 * * * *', '2026-11-23T10:00:00Z', true],
    ['0 * * * *', '2026-11-23T10:00:59.999Z', true],
    ['0 * * * *', '2026-11-23T10:01:00Z', false],
    ['0 * * * *', '2026-11-23T11:00:00+01:00', true], // 10:00 UTC
    ['*/15 * * * *', '2026-11-23T10:45:00Z', true],
    ['*/15 * * * *', '2026-11-23T10:46:00Z', false],
    ['30 3 * * 1-5', '2026-11-23T03:30:00Z', true], // a Monday
    ['30 3 * * 1-5', '2026-11-22T03:30:00Z', false], // a Sunday
    ['30 3 * * 0,6', '2026-11-23T03:30:00Z', false],
    ['30 3 * * 7', '2026-11-22T03:30:00Z', true], // 7 is Sunday
    ['0 0 1 * *', '2026-12-01T00:00:00Z', true],
    ['0 0 1 * *', '2026-12-02T00:00:00Z', false],
    ['0 0 * 12 *', '2026-11-30T00:00:00Z', false],
    ['0 0 29 2 *', '2028-02-29T00:00:00Z', true],
    // Both day fields restricted: either may match (classic cron).
    ['0 0 1 * 7', '2026-11-22T00:00:00Z', true], // Sunday the 22nd
    ['0 0 1 * 7', '2026-12-01T00:00:00Z', true], // Tuesday the 1st
    ['0 0 1 * 7', '2026-11-24T00:00:00Z', false], // Tuesday the 24th
    // One day field restricted: it alone decides.
    ['0 0 1 * *', '2026-11-22T00:00:00Z', false],
    ['0 0 * * 7', '2026-12-01T00:00:00Z', false],
    // '*/2' in the day of month is "any" for pg_cron: with a weekday, both must match.
    ['0 0 */2 * 1', '2026-11-23T00:00:00Z', true], // Monday the 23rd (odd)
    ['0 0 */2 * 1', '2026-11-25T00:00:00Z', false], // Wednesday the 25th
    ['0 0 */2 * 1', '2026-11-30T00:00:00Z', false], // Monday the 30th (even)
    ['@weekly', '2026-11-22T00:00:00Z', true], // a Sunday
    ['@weekly', '2026-11-23T00:00:00Z', false],
    ['@monthly', '2026-12-01T00:00:00Z', true],
  ])('"%s" at %s → %s', (text, at, expected) => {
    expect(cronMatches(cron(text), new Date(at))).toBe(expected);
  });
});
