// The one place that turns a Postgres error into a client-facing error. The
// raw database message is never sent to the client.
import { AppError, errors, isAppError } from '../http/errors.ts';

// SA0xx are raised by Strata's own SQL (triggers and functions enforcing the
// limits for every client); their messages are ours, written for clients.
const own = (error: unknown) => String((error as { message?: unknown }).message ?? '').slice(0, 300);

const BY_SQLSTATE: Record<string, (error: unknown) => AppError> = {
  '42501': () => errors.forbidden('You may not access this resource.'), // insufficient_privilege / RLS
  '23505': () => errors.conflict('A resource with this id already exists.'), // unique_violation
  '23503': () => errors.conflict('A referenced resource does not exist.'), // foreign_key_violation
  '23514': () => errors.invalidRequest('The data violates a constraint.'), // check_violation
  '22P02': () => errors.invalidRequest('A value has the wrong format.'), // invalid_text_representation
  '22021': () => errors.invalidRequest('Text may not contain NUL characters.'), // character_not_in_repertoire
  '22P05': () => errors.invalidRequest('Text holds a character the database cannot store.'), // untranslatable_character
  '22001': () => errors.invalidRequest('A value is too long.'), // string_data_right_truncation
  '22007': () => errors.invalidRequest('A date or time has the wrong format.'), // invalid_datetime_format
  '22008': () => errors.invalidRequest('A date or time is out of range.'), // datetime_field_overflow
  '54001': () => errors.invalidRequest('A value is nested too deeply to store.'), // statement_too_complex (stack depth limit exceeded)
  P0002: () => errors.notFound('The resource'), // no_data_found, raised by our triggers
  SA001: () => errors.archiveCorrupt(), // raised by restore_archived_conversation
  SA002: () => errors.archiveNotReady('not stored'),
  SA003: (e) => errors.ttlTooLong(`${own(e)}.`), // conversations: expires_at past max_ttl_hours
  SA004: (e) => errors.payloadTooLarge(`${own(e)}.`), // a size limit of private.settings
  SA005: (e) => errors.invalidRequest(`${own(e)}.`), // JSON nested deeper than json_max_depth
  SA006: (e) => errors.quotaExceeded(`${own(e)}.`), // per-user quota (pending uploads)
  SA007: (e) => errors.unsupportedMediaType(`${own(e)}.`), // a content type not in file_allowed_types
  '57014': () => errors.serviceUnavailable('The database took too long to answer; try again.'), // query_canceled
  '53300': () => errors.serviceUnavailable('The database is busy; try again.'), // too_many_connections
};

export function sqlStateOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** Maps database errors to AppError; returns null for anything else. */
export function fromDatabaseError(error: unknown): AppError | null {
  if (isAppError(error)) return error;
  const state = sqlStateOf(error);
  if (state && BY_SQLSTATE[state]) return BY_SQLSTATE[state](error);
  if (state?.startsWith('08')) return errors.serviceUnavailable('The database is not reachable; try again.');
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'ECONNREFUSED' || code === 'CONNECT_TIMEOUT' || code === 'CONNECTION_CLOSED') {
    return errors.serviceUnavailable('The database is not reachable; try again.');
  }
  return null;
}
