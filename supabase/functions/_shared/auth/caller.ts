// Who is calling. The gateway (Supabase's, or the dev stack's) has already
// verified the JWT's signature and expiry for functions with verify_jwt on,
// which every user-facing function keeps (tests/unit/functions-config.test.ts);
// here we only read its claims. Service credentials are compared exactly:
// the legacy service_role JWT as the bearer token, or one of the project's
// secret API keys (sb_secret_...), which Supabase documents in the `apikey`
// header (supabase-js sends it as the bearer token as well). A secret key is
// not a JWT, so with verify_jwt on the platform still wants a valid JWT in
// Authorization: pg_net wake-ups therefore carry the legacy key.
import { timingSafeEqual } from 'node:crypto';
import { isUuid } from '../ids.ts';
import { errors } from '../http/errors.ts';

export type Caller =
  | { kind: 'user'; userId: string; claims: Record<string, unknown> }
  | { kind: 'service' };

function bearer(request: Request): string | null {
  const match = /^Bearer\s+(\S+)$/i.exec(request.headers.get('authorization') ?? '');
  return match ? match[1]! : null;
}

function decodeClaims(token: string): Record<string, unknown> | null {
  const payload = token.split('.')[1];
  if (!payload) return null;
  try {
    const json = new TextDecoder().decode(Uint8Array.from(atob(payload.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0)));
    const claims = JSON.parse(json);
    return claims && typeof claims === 'object' ? claims : null;
  } catch {
    return null;
  }
}

/** What a service caller may present. PlatformConfig (config.ts) is one. */
export interface ServiceCredentials {
  /** SUPABASE_SERVICE_ROLE_KEY, the legacy service_role JWT, sent as `Authorization: Bearer <key>`. */
  serviceRoleKey?: string;
  /** SUPABASE_SECRET_KEYS / SUPABASE_SECRET_KEY (sb_secret_...), sent as `apikey: <key>` (or as the bearer token). */
  secretKeys?: readonly string[];
}

function sameSecret(presented: string | null | undefined, expected: string | undefined): boolean {
  if (!presented || !expected) return false;
  const a = new TextEncoder().encode(presented);
  const b = new TextEncoder().encode(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** True when the request carries service credentials: the service_role key, or a secret API key. */
export function isServiceRequest(request: Request, credentials: ServiceCredentials): boolean {
  const token = bearer(request);
  if (sameSecret(token, credentials.serviceRoleKey)) return true;
  const apikey = request.headers.get('apikey')?.trim() || null;
  return (credentials.secretKeys ?? []).some((key) => sameSecret(apikey, key) || sameSecret(token, key));
}

/** The caller: a signed-in user, or (when `service` credentials are given) the service. Anything else is 401. */
export function callerOf(request: Request, options: { service?: ServiceCredentials } = {}): Caller {
  if (options.service && isServiceRequest(request, options.service)) return { kind: 'service' };
  const token = bearer(request);
  if (!token) throw errors.unauthorized('Missing bearer token.');
  const claims = decodeClaims(token);
  if (!claims) throw errors.unauthorized('Invalid token.');
  if (claims.role === 'authenticated' && isUuid(claims.sub)) {
    return { kind: 'user', userId: (claims.sub as string).toLowerCase(), claims };
  }
  if (claims.role === 'service_role' && options.service) return { kind: 'service' };
  throw errors.unauthorized('Sign in first: this endpoint needs a user access token.');
}

/** The worker endpoints: only service credentials (the service_role key or a secret API key), exactly. */
export function requireService(request: Request, credentials: ServiceCredentials): void {
  if (!isServiceRequest(request, credentials)) throw errors.unauthorized('Service credentials are required.');
}

/** A signed-in user, or 401 (the anon key and service credentials are not users). */
export function requireUser(request: Request): Extract<Caller, { kind: 'user' }> {
  const caller = callerOf(request);
  if (caller.kind !== 'user') throw errors.unauthorized();
  return caller;
}
