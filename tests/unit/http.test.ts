// The edge's pure checks: keyset cursors (http/cursor.ts) and JSON nesting
// depth (http/json-depth.ts).
import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor, isCursorTimestamp } from '../../supabase/functions/_shared/http/cursor.ts';
import { AppError } from '../../supabase/functions/_shared/http/errors.ts';
import { MAX_BODY_DEPTH, MAX_JSON_DEPTH, nestedDeeperThan, textNestedDeeperThan } from '../../supabase/functions/_shared/http/json-depth.ts';

const ID = '6a2f41a8-0b1c-4c5d-9e7f-0123456789ab';

describe('cursors', () => {
  it.each([
    '2024-02-29T23:59:59.123456+00:00', // Postgres's to_jsonb text keeps microseconds
    '2024-02-29T12:00:00.000Z',
    '2024-02-29T12:00:00+05:30',
    '0001-01-01T00:00:00Z',
    '9999-12-31T23:59:59.999999-15:59:59',
  ])('round-trips %s exactly', (at) => {
    const cursor = encodeCursor(at, ID);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/); // base64url, no padding
    expect(decodeCursor(cursor)).toEqual([at, ID]);
  });

  it('encodes a Date as its ISO string', () => {
    expect(decodeCursor(encodeCursor(new Date('2024-02-29T12:00:00Z'), ID))).toEqual(['2024-02-29T12:00:00.000Z', ID]);
  });

  const b64 = (value: unknown) => btoa(JSON.stringify(value)).replace(/=+$/, '');
  it.each([
    ['empty', ''],
    ['not base64', '!!!'],
    ['base64 of text that is not JSON', btoa('hello')],
    ['a JSON object', b64({ at: '2024-01-01T00:00:00Z', id: ID })],
    ['an empty array', b64([])],
    ['the pair reversed', b64([ID, '2024-01-01T00:00:00Z'])],
    ['an id that is not a UUID', encodeCursor('2024-01-01T00:00:00Z', 'x')],
    ['a number for the timestamp', b64([1704067200000, ID])],
    ['a timestamp Date.parse takes but Postgres refuses ("1")', encodeCursor('1', ID)],
    ['30 February', encodeCursor('2024-02-30T00:00:00Z', ID)],
    ['year +275760', encodeCursor('+275760-09-13T00:00:00.000Z', ID)],
  ])('refuses %s with invalid_request', (_what, cursor) => {
    let caught: unknown;
    try {
      decodeCursor(cursor);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(AppError);
    expect(caught).toMatchObject({
      code: 'invalid_request',
      status: 400,
      message: 'The cursor is not valid; pass back the one from the previous page.',
    });
  });

  it('names the parameter in its message', () => {
    expect(() => decodeCursor('!!!', 'after')).toThrow('The after is not valid; pass back the one from the previous page.');
  });
});

describe('isCursorTimestamp', () => {
  it.each([
    '2024-02-29T23:59:59.123456+00:00',
    '2024-02-29T12:00:00.000Z',
    '2024-02-29T12:00:00Z',
    '2000-02-29T00:00:00Z', // divisible by 400: a leap year
    '2023-12-31T23:59:59.1Z',
    '2023-06-01T12:00:00+15:59',
    '2023-06-01T12:00:00-15:59:59',
    '0001-01-01T00:00:00Z',
    '9999-12-31T23:59:59.999999Z',
  ])('accepts %s', (value) => {
    expect(isCursorTimestamp(value)).toBe(true);
  });

  it.each([
    ['a bare number in a string', '1'],
    ['a date without a time', '2024-02-29'],
    ['no offset', '2024-02-29T12:00:00'],
    ['a space for the T', '2024-02-29 12:00:00Z'],
    ['seven fraction digits', '2024-02-29T12:00:00.1234567Z'],
    ['year 0', '0000-01-01T00:00:00Z'],
    ['a six-digit year', '+275760-09-13T00:00:00Z'],
    ['month 0', '2024-00-10T00:00:00Z'],
    ['month 13', '2024-13-10T00:00:00Z'],
    ['day 0', '2024-01-00T00:00:00Z'],
    ['31 April', '2024-04-31T00:00:00Z'],
    ['30 February', '2024-02-30T00:00:00Z'],
    ['29 February of a common year', '2023-02-29T00:00:00Z'],
    ['29 February of a century not divisible by 400', '1900-02-29T00:00:00Z'],
    ['hour 24', '2024-01-01T24:00:00Z'],
    ['minute 60', '2024-01-01T23:60:00Z'],
    ['second 60', '2024-01-01T23:59:60Z'],
    ['an offset of 16 hours', '2024-01-01T00:00:00+16:00'],
    ['an offset minute of 60', '2024-01-01T00:00:00+15:60'],
    ['an offset second of 60', '2024-01-01T00:00:00+01:00:60'],
    ['trailing text', '2024-01-01T00:00:00Z; drop table'],
    ['a number', 1704067200000],
    ['null', null],
    ['a Date', new Date('2024-01-01T00:00:00Z')],
  ])('refuses %s', (_what, value) => {
    expect(isCursorTimestamp(value)).toBe(false);
  });
});

/** A value `depth` arrays deep: [] is 1, [[]] is 2. */
const nestedArray = (depth: number): unknown => {
  let value: unknown = [];
  for (let i = 1; i < depth; i++) value = [value];
  return value;
};

describe('nestedDeeperThan', () => {
  it.each([
    [null, 0, false],
    [1, 0, false],
    ['[[[', 0, false],
    [{}, 0, true],
    [{}, 1, false],
    [[], 1, false],
    [{ a: [1] }, 1, true],
    [{ a: [1] }, 2, false],
    [[[[]]], 2, true],
    [[[[]]], 3, false],
    [{ a: { b: 1 }, c: [[2]] }, 2, true],
    [{ a: { b: 1 }, c: [[2]] }, 3, false],
    [[1, 'x', null, true, {}], 1, true],
    [[1, 'x', null, true, {}], 2, false],
  ])('%j deeper than %i → %s', (value, limit, expected) => {
    expect(nestedDeeperThan(value, limit)).toBe(expected);
  });

  it(`allows exactly MAX_JSON_DEPTH (${MAX_JSON_DEPTH}) levels`, () => {
    expect(nestedDeeperThan(nestedArray(MAX_JSON_DEPTH), MAX_JSON_DEPTH)).toBe(false);
    expect(nestedDeeperThan(nestedArray(MAX_JSON_DEPTH + 1), MAX_JSON_DEPTH)).toBe(true);
  });

  it('measures 100,000 levels without exhausting the stack', () => {
    expect(nestedDeeperThan(nestedArray(100_000), MAX_JSON_DEPTH)).toBe(true);
  });
});

describe('textNestedDeeperThan', () => {
  it.each([
    ['1', 0, false],
    ['"[[[["', 0, false],
    ['{}', 0, true],
    ['{}', 1, false],
    ['{"a":[1]}', 1, true],
    ['{"a":[1]}', 2, false],
    ['[[],[],[]]', 2, false],
    ['[[],[[]],[]]', 2, true],
    // Brackets inside strings do not count, escaped quotes do not end a string...
    ['["[[[[", "{{{{"]', 1, false],
    ['["\\"[[[["]', 1, false],
    // ...and an escaped backslash does not escape the closing quote.
    ['["\\\\", [[1]]]', 2, true],
    ['["\\\\", [[1]]]', 3, false],
  ])('%s deeper than %i → %s', (text, limit, expected) => {
    expect(textNestedDeeperThan(text, limit)).toBe(expected);
  });

  it('agrees with nestedDeeperThan on valid JSON', () => {
    const values: unknown[] = [
      { role: 'user', metadata: { tool: { name: 'x', args: [{ a: [1, { b: '}}]]' }] }] } } },
      nestedArray(MAX_JSON_DEPTH),
      nestedArray(MAX_JSON_DEPTH + 1),
      { 'key with [brackets]': '{"quoted": ["json"]}', list: [[['\\']]] },
    ];
    for (const value of values) {
      const text = JSON.stringify(value);
      for (const limit of [1, 2, 3, 5, MAX_JSON_DEPTH]) {
        expect(textNestedDeeperThan(text, limit), `${text.slice(0, 60)} at ${limit}`).toBe(nestedDeeperThan(value, limit));
      }
    }
  });

  it('stops early on a deep text and never throws on invalid JSON', () => {
    expect(textNestedDeeperThan('['.repeat(1_000_000), MAX_BODY_DEPTH)).toBe(true);
    expect(textNestedDeeperThan(']]]]}}}{', 0)).toBe(false);
    expect(textNestedDeeperThan('"unterminated [[[', 0)).toBe(false);
  });

  it('never refuses a body that holds a stored value of the allowed depth', () => {
    const body = JSON.stringify({ role: 'user', content: 'hi', metadata: nestedArray(MAX_JSON_DEPTH) });
    expect(textNestedDeeperThan(body, MAX_BODY_DEPTH)).toBe(false);
    expect(MAX_BODY_DEPTH).toBeGreaterThan(MAX_JSON_DEPTH);
  });
});
