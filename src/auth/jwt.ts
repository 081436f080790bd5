// HS256 JSON Web Tokens, as GoTrue issues them and the Supabase gateway checks them.
import { createHmac, timingSafeEqual } from 'node:crypto';

export type JwtClaims = Record<string, unknown> & { exp?: number; role?: string; sub?: string };

export type JwtVerification =
  | { ok: true; claims: JwtClaims }
  | { ok: false; reason: 'malformed' | 'bad_signature' | 'expired' | 'unsupported_algorithm' };

const base64url = (input: Buffer | string) => Buffer.from(input).toString('base64url');

export function signJwt(claims: JwtClaims, secret: string): string {
  const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const payload = base64url(JSON.stringify(claims));
  const signature = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${signature}`;
}

export function verifyJwt(token: string, secret: string, nowSeconds = Date.now() / 1000): JwtVerification {
  const parts = token.split('.');
  if (parts.length !== 3) return { ok: false, reason: 'malformed' };
  const [header, payload, signature] = parts as [string, string, string];
  let parsedHeader: { alg?: unknown };
  let claims: JwtClaims;
  try {
    parsedHeader = JSON.parse(Buffer.from(header, 'base64url').toString('utf8'));
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (typeof claims !== 'object' || claims === null) return { ok: false, reason: 'malformed' };
  if (parsedHeader.alg !== 'HS256') return { ok: false, reason: 'unsupported_algorithm' };
  const expected = createHmac('sha256', secret).update(`${header}.${payload}`).digest();
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: 'bad_signature' };
  }
  if (typeof claims.exp === 'number' && claims.exp <= nowSeconds) return { ok: false, reason: 'expired' };
  return { ok: true, claims };
}

/** The anon and service_role API keys: long-lived role tokens, as `supabase start` prints. */
export function apiKeys(secret: string): { anonKey: string; serviceRoleKey: string } {
  const base = { iss: 'supabase-demo', iat: 1641769200, exp: 1983812996 };
  return {
    anonKey: signJwt({ ...base, role: 'anon' }, secret),
    serviceRoleKey: signJwt({ ...base, role: 'service_role' }, secret),
  };
}

/** A user's access token, shaped like GoTrue's. */
export function userAccessToken(
  user: { id: string; email: string | null },
  secret: string,
  options: { issuer: string; expiresInSeconds: number; now?: number },
): { token: string; expiresAt: number } {
  const iat = Math.floor((options.now ?? Date.now()) / 1000);
  const exp = iat + options.expiresInSeconds;
  const token = signJwt(
    {
      aud: 'authenticated',
      iss: options.issuer,
      sub: user.id,
      email: user.email ?? '',
      role: 'authenticated',
      aal: 'aal1',
      is_anonymous: false,
      iat,
      exp,
    },
    secret,
  );
  return { token, expiresAt: exp };
}
