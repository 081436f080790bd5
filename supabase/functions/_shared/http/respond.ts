// The one place that renders responses and errors.
import { fromDatabaseError } from '../db/sqlstate.ts';
import { AppError, errors, isAppError } from './errors.ts';
import { CORS_HEADERS } from './cors.ts';

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...CORS_HEADERS, ...headers },
  });
}

export function renderError(error: unknown, log: (message: string) => void = console.error): Response {
  const appError: AppError = isAppError(error) ? error : (fromDatabaseError(error) ?? errors.internal());
  if (appError.status >= 500) {
    // Internals go to the function log, never to the client.
    log(`${appError.code}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  }
  const headers: Record<string, string> = {};
  if (appError.code === 'method_not_allowed') {
    const allowed = (appError.details as { allowed?: string[] } | undefined)?.allowed;
    if (allowed) headers.allow = allowed.join(', ');
  }
  const body: { code: string; message: string; details?: unknown } = { code: appError.code, message: appError.message };
  if (appError.details !== undefined && appError.status < 500) body.details = appError.details;
  return json({ error: body }, appError.status, headers);
}
