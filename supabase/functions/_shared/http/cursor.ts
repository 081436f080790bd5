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

export function decodeCursor(cursor: string, name = 'cursor'): [string, string] {
  try {
    const [at, id] = JSON.parse(atob(cursor.replace(/-/g, '+').replace(/_/g, '/'))) as [unknown, unknown];
    if (typeof at === 'string' && !Number.isNaN(Date.parse(at)) && isUuid(id)) return [at, id];
  } catch {
    // fall through
  }
  throw errors.invalidRequest(`The ${name} is not valid; pass back the one from the previous page.`);
}
