// Who is calling. The gateway (Supabase's, or the dev stack's) has already
// verified the JWT's signature and expiry for functions with verify_jwt on,
// which every user-facing function keeps (tests/functions-config.test.ts);
// here we only read its claims. Service credentials are compared exactly.
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

export function isServiceKey(token: string | null, serviceRoleKey: string | undefined): boolean {
  if (!token || !serviceRoleKey) return false;
  const a = new TextEncoder().encode(token);
  const b = new TextEncoder().encode(serviceRoleKey);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The caller: a signed-in user, or (when allowed) the service role. Anything else is 401. */
export function callerOf(request: Request, options: { serviceRoleKey?: string; allowService?: boolean } = {}): Caller {
  const token = bearer(request);
  if (!token) throw errors.unauthorized('Missing bearer token.');
  if (options.allowService && isServiceKey(token, options.serviceRoleKey)) return { kind: 'service' };
  const claims = decodeClaims(token);
  if (!claims) throw errors.unauthorized('Invalid token.');
  if (claims.role === 'authenticated' && isUuid(claims.sub)) {
    return { kind: 'user', userId: (claims.sub as string).toLowerCase(), claims };
  }
  if (claims.role === 'service_role' && options.allowService) return { kind: 'service' };
  throw errors.unauthorized('Sign in first: this endpoint needs a user access token.');
}

/** The worker endpoints: only the service role key, exactly. */
export function requireService(request: Request, serviceRoleKey: string | undefined): void {
  if (!isServiceKey(bearer(request), serviceRoleKey)) throw errors.unauthorized('Service credentials are required.');
}

/** A signed-in user, or 401 (the anon key and service credentials are not users). */
export function requireUser(request: Request): Extract<Caller, { kind: 'user' }> {
  const caller = callerOf(request);
  if (caller.kind !== 'user') throw errors.unauthorized();
  return caller;
}
