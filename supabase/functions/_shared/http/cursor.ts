// Opaque keyset cursors: (timestamp, id) pairs, base64url-encoded JSON. The
// timestamp keeps Postgres's microseconds; queries must compare it as
// `${at}::text::timestamptz`, because postgres.js sends a parameter it knows
// to be a timestamptz through a JS Date and drops the microseconds, which
// skips rows on the next page.
import { isUuid } from '../ids.ts';
import { errors } from '../http/errors.ts';

export function encodeCursor(at: string | Date, id: string): string {
  const iso = at instanceof Date ? at.toISOString() : at;
  return btoa(JSON.stringify([iso, id])).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

// What encodeCursor writes (Postgres's to_jsonb text or Date#toISOString):
// 2024-02-29T23:59:59.123456+00:00, 2024-02-29T12:00:00.000Z. Date.parse is
// no test: it accepts "1", "2024-02-30" and year +275760, which Postgres
// refuses (22007, 22008), so the timestamp is checked field by field here.
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,6})?(?:Z|[+-](\d{2}):(\d{2})(?::(\d{2}))?)$/;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const isLeapYear = (year: number) => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;

/** A timestamp with offset that Postgres reads as written: a real calendar date and time, year 1 to 9999. */
export function isCursorTimestamp(value: unknown): value is string {
  const match = typeof value === 'string' ? TIMESTAMP.exec(value) : null;
  if (!match) return false;
  const field = (i: number) => Number(match[i] ?? 0);
  const [year, month, day] = [field(1), field(2), field(3)];
  if (year < 1 || month < 1 || month > 12) return false;
  const days = month === 2 && isLeapYear(year) ? 29 : DAYS_IN_MONTH[month - 1]!;
  const time = field(4) <= 23 && field(5) <= 59 && field(6) <= 59;
  const offset = field(7) <= 15 && field(8) <= 59 && field(9) <= 59; // Postgres takes up to ±15:59:59
  return day >= 1 && day <= days && time && offset;
}

export function decodeCursor(cursor: string, name = 'cursor'): [string, string] {
  try {
    const [at, id] = JSON.parse(atob(cursor.replace(/-/g, '+').replace(/_/g, '/'))) as [unknown, unknown];
    if (isCursorTimestamp(at) && isUuid(id)) return [at, id];
  } catch {
    // fall through
  }
  throw errors.invalidRequest(`The ${name} is not valid; pass back the one from the previous page.`);
}
