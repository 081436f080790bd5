// The local gateway checks JWTs the way Supabase's does for functions with
// verify_jwt on, and lets the CORS preflight through to the function.
import { describe, expect, inject, it } from 'vitest';
import { signJwt } from '../src/auth/jwt.ts';

const stack = inject('stack');
const url = `${stack.functionsUrl}/health`;
const now = Math.floor(Date.now() / 1000);

const call = (headers: Record<string, string> = {}, method = 'GET') => fetch(url, { method, headers });

describe('gateway JWT verification', () => {
  it.each([
    ['no token', {}, 'missing_authorization'],
    ['a non-bearer header', { authorization: 'Basic dXNlcjpwYXNz' }, 'missing_authorization'],
    ['a malformed token', { authorization: 'Bearer not-a-jwt' }, 'invalid_jwt'],
    ['a bad signature', { authorization: `Bearer ${signJwt({ role: 'anon', exp: now + 600 }, 'another-secret-of-enough-length-000')}` }, 'invalid_jwt'],
    ['an expired token', { authorization: `Bearer ${signJwt({ role: 'authenticated', sub: 'x', exp: now - 10 }, stack.jwtSecret)}` }, 'jwt_expired'],
    [
      'an unsigned (alg none) token',
      { authorization: `Bearer ${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from('{"role":"service_role"}').toString('base64url')}.` },
      'invalid_jwt',
    ],
  ])('answers 401 to %s', async (_name, headers, code) => {
    const response = await call(headers as Record<string, string>);
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ error: { code, message: expect.any(String) } });
  });

  it.each([
    ['the anon key', stack.anonKey],
    ['the service_role key', stack.serviceRoleKey],
    ['a user token', signJwt({ role: 'authenticated', sub: '00000000-0000-4000-8000-000000000000', aud: 'authenticated', exp: now + 600 }, stack.jwtSecret)],
  ])('passes a request with %s to the function', async (_name, token) => {
    const response = await call({ authorization: `Bearer ${token}` });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'ok' });
  });

  it('lets the CORS preflight through without a token and the function answers it', async () => {
    const response = await call({ origin: 'http://localhost:3000', 'access-control-request-method': 'POST' }, 'OPTIONS');
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('access-control-allow-headers')).toContain('authorization');
  });

  it('answers 404 for an unknown function and for paths the local API does not know', async () => {
    const unknown = await fetch(`${stack.functionsUrl}/no-such-function`, { headers: { authorization: `Bearer ${stack.anonKey}` } });
    expect(unknown.status).toBe(404);
    expect((await unknown.json()).error.code).toBe('function_not_found');
    const outside = await fetch(`${stack.apiUrl}/nothing/v1/here`);
    expect(outside.status).toBe(404);
    expect((await outside.json()).error.code).toBe('not_found');
  });
});
