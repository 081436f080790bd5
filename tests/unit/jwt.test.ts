import { describe, expect, it } from 'vitest';
import { apiKeys, signJwt, userAccessToken, verifyJwt } from '../../src/auth/jwt.ts';

const SECRET = 'super-secret-jwt-token-with-at-least-32-characters-long';

describe('JWT', () => {
  it('makes the same anon key as `supabase start` for the default local secret', () => {
    expect(apiKeys(SECRET).anonKey).toBe(
      'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzdXBhYmFzZS1kZW1vIiwiaWF0IjoxNjQxNzY5MjAwLCJleHAiOjE5ODM4MTI5OTYsInJvbGUiOiJhbm9uIn0.2dwG9pSI7JuUdJdHf7Q9s_oawdYzb2nnQEP5lOWnt1U',
    );
  });

  it('round-trips claims and refuses tampering, other secrets and expiry', () => {
    const token = signJwt({ sub: 'u', role: 'authenticated', exp: 2_000_000_000 }, SECRET);
    expect(verifyJwt(token, SECRET)).toEqual({ ok: true, claims: { sub: 'u', role: 'authenticated', exp: 2_000_000_000 } });
    const [h, , s] = token.split('.');
    const forged = `${h}.${Buffer.from('{"sub":"u","role":"service_role"}').toString('base64url')}.${s}`;
    expect(verifyJwt(forged, SECRET)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifyJwt(token, 'x'.repeat(40))).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifyJwt(token, SECRET, 2_000_000_001)).toEqual({ ok: false, reason: 'expired' });
    expect(verifyJwt('a.b', SECRET)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('issues user tokens shaped like GoTrue', () => {
    const { token, expiresAt } = userAccessToken({ id: 'id-1', email: 'a@b.c' }, SECRET, { issuer: 'http://x/auth/v1', expiresInSeconds: 60, now: 1_000_000 });
    const verdict = verifyJwt(token, SECRET, 1_000);
    expect(verdict.ok && verdict.claims).toMatchObject({ sub: 'id-1', role: 'authenticated', aud: 'authenticated', email: 'a@b.c', exp: 1_060 });
    expect(expiresAt).toBe(1_060);
  });
});
