// Small HTTP helpers for what the local API answers itself (Auth and the
// honest refusals): CORS as the hosted API gives it, so a browser on another
// origin can read the answers (errors included); JSON replies; bounded bodies.
import type http from 'node:http';

const EXPOSED_HEADERS = 'Content-Range, X-Total-Count, Link, X-Supabase-Api-Version';
const ALLOWED_HEADERS =
  'authorization, x-client-info, apikey, content-type, accept, accept-profile, content-profile, prefer, range, x-supabase-api-version, x-upsert, cache-control';

export function corsHeaders(request: http.IncomingMessage): Record<string, string> {
  const origin = request.headers.origin;
  return origin
    ? { 'access-control-allow-origin': origin, 'access-control-allow-credentials': 'true', 'access-control-expose-headers': EXPOSED_HEADERS, vary: 'Origin' }
    : { 'access-control-allow-origin': '*', 'access-control-expose-headers': EXPOSED_HEADERS };
}

/** The CORS preflight: 204, any method the APIs use, the headers asked for. */
export function answerPreflight(request: http.IncomingMessage, response: http.ServerResponse): void {
  response.writeHead(204, {
    ...corsHeaders(request),
    'access-control-allow-methods': 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS',
    'access-control-allow-headers': String(request.headers['access-control-request-headers'] ?? ALLOWED_HEADERS),
    'access-control-max-age': '86400',
  });
  response.end();
}

export function sendJson(
  request: http.IncomingMessage,
  response: http.ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  const text = body === undefined ? '' : JSON.stringify(body);
  response.writeHead(status, {
    ...corsHeaders(request),
    ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    ...headers,
  });
  // A HEAD request gets the status and headers only.
  response.end(request.method === 'HEAD' ? undefined : text);
}

export class BodyTooLargeError extends Error {
  override readonly name = 'BodyTooLargeError' as const;
  constructor(readonly limit: number) {
    super(`Request body too large (max ${limit} bytes)`);
  }
}

/** The request body as text, refusing more than `limit` bytes. */
export async function readBody(request: http.IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new BodyTooLargeError(limit);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Lets the rest of a request body go unread without stalling the connection. */
export function discardBody(request: http.IncomingMessage): void {
  request.resume();
}
