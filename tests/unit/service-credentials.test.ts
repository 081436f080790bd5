// Who may call the worker endpoints (archive-worker, storage/info, the
// project-wide stats): the legacy service_role JWT as the bearer token, or one
// of the project's secret API keys (sb_secret_...), which Supabase hands to
// Edge Functions as SUPABASE_SECRET_KEYS, a JSON object of named keys
// ({"default": "sb_secret_..."}), or SUPABASE_SECRET_KEY (self-hosted), and
// which callers send in the `apikey` header (supabase-js: in Authorization too).
// The worker handler itself is called: accepted credentials get past the
// check and meet the missing database (503); refused ones get 401.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { signJwt } from '../../src/auth/jwt.ts';
import { callerOf, requireService } from '../../supabase/functions/_shared/auth/caller.ts';
import { readPlatformConfig, readSecretKeys } from '../../supabase/functions/_shared/config.ts';
import { createWorkerHandler } from '../../supabase/functions/_shared/jobs/handler.ts';

const JWT_SECRET = 'x'.repeat(40);
const SERVICE_ROLE_KEY = signJwt({ role: 'service_role', iss: 'supabase-demo' }, JWT_SECRET);
const ANON_KEY = signJwt({ role: 'anon', iss: 'supabase-demo' }, JWT_SECRET);
const FORGED_SERVICE = signJwt({ role: 'service_role', iss: 'supabase-demo', other: 1 }, JWT_SECRET);
const USER_TOKEN = signJwt({ role: 'authenticated', sub: '6a2f41a8-0b1c-4c5d-9e7f-0123456789ab' }, JWT_SECRET);
const SECRET = 'sb_secret_3f9c2b7a1e5d4c6b8a0f2e4d6c8b0a1e';
const BACKEND_SECRET = 'sb_secret_b4ck3nd0000000000000000000000000';
const PUBLISHABLE = 'sb_publishable_0f1e2d3c4b5a69788796a5b4c3d2e1f0';

const hosted = {
  SUPABASE_SERVICE_ROLE_KEY: SERVICE_ROLE_KEY,
  SUPABASE_SECRET_KEYS: JSON.stringify({ default: SECRET, backend: BACKEND_SECRET }),
  SUPABASE_PUBLISHABLE_KEYS: JSON.stringify({ default: PUBLISHABLE }),
};
const envOf = (values: Record<string, string>) => (name: string) => values[name];

describe('secret API keys from the environment', () => {
  it.each([
    ['named keys (SUPABASE_SECRET_KEYS)', { SUPABASE_SECRET_KEYS: JSON.stringify({ default: SECRET, backend: BACKEND_SECRET }) }, [SECRET, BACKEND_SECRET]],
    ['one key (SUPABASE_SECRET_KEY)', { SUPABASE_SECRET_KEY: SECRET }, [SECRET]],
    ['both, without duplicates', { SUPABASE_SECRET_KEYS: JSON.stringify({ default: SECRET }), SUPABASE_SECRET_KEY: ` ${SECRET} ` }, [SECRET]],
    ['none', {}, []],
    ['malformed JSON', { SUPABASE_SECRET_KEYS: 'sb_secret_not_json' }, []],
    ['a JSON array', { SUPABASE_SECRET_KEYS: JSON.stringify([SECRET]) }, []],
    ['empty and non-string values', { SUPABASE_SECRET_KEYS: JSON.stringify({ a: '', b: '  ', c: 1, d: null, default: SECRET }) }, [SECRET]],
  ])('%s', (_label, values, expected) => {
    expect(readSecretKeys(envOf(values as Record<string, string>))).toEqual(expected);
  });
});

describe('the worker endpoint', () => {
  // The 503 of the missing database is logged as a server error; not here.
  beforeEach(() => void vi.spyOn(console, 'error').mockImplementation(() => {}));
  afterEach(() => void vi.restoreAllMocks());
  const call = (env: Record<string, string>, headers: Record<string, string>) =>
    createWorkerHandler(envOf(env))(new Request('http://functions/archive-worker', { method: 'POST', headers, body: '{}' }));

  it.each([
    ['the service_role key as bearer (pg_net wake-ups)', { authorization: `Bearer ${SERVICE_ROLE_KEY}` }],
    ['a secret key in apikey, with the anon key as bearer (passes verify_jwt)', { authorization: `Bearer ${ANON_KEY}`, apikey: SECRET }],
    ['a secret key in apikey alone', { apikey: SECRET }],
    ['a secret key in both headers (supabase-js)', { authorization: `Bearer ${SECRET}`, apikey: SECRET }],
    ['another named secret key', { authorization: `Bearer ${ANON_KEY}`, apikey: BACKEND_SECRET }],
  ])('accepts %s', async (_label, headers) => {
    const response = await call(hosted, headers);
    expect(response.status).toBe(503); // past the check: no SUPABASE_DB_URL here
  });

  it.each([
    ['no credentials', {}],
    ['the anon key', { authorization: `Bearer ${ANON_KEY}` }],
    ['a user token', { authorization: `Bearer ${USER_TOKEN}` }],
    ['another service_role JWT than the key', { authorization: `Bearer ${FORGED_SERVICE}` }],
    ['the publishable key', { authorization: `Bearer ${ANON_KEY}`, apikey: PUBLISHABLE }],
    ['an unknown secret key', { apikey: 'sb_secret_00000000000000000000000000000000' }],
    ['a secret key with a suffix', { apikey: `${SECRET}x` }],
    ['a prefix of a secret key', { apikey: SECRET.slice(0, -1) }],
    ['the service_role key in apikey only', { apikey: SERVICE_ROLE_KEY }],
  ])('refuses %s with 401', async (_label, headers) => {
    const response = await call(hosted, headers);
    expect(response.status).toBe(401);
    expect((await response.json()).error.code).toBe('unauthorized');
  });

  it('accepts no secret key where none is configured, even an empty apikey', async () => {
    const legacyOnly = { SUPABASE_SERVICE_ROLE_KEY: SERVICE_ROLE_KEY, SUPABASE_SECRET_KEYS: JSON.stringify({ default: '' }) };
    expect((await call(legacyOnly, { apikey: SECRET })).status).toBe(401);
    expect((await call(legacyOnly, { apikey: '' })).status).toBe(401);
    expect((await call(legacyOnly, { authorization: `Bearer ${SERVICE_ROLE_KEY}` })).status).toBe(503);
    expect((await call({ SUPABASE_SECRET_KEY: SECRET }, { authorization: `Bearer ${SERVICE_ROLE_KEY}` })).status).toBe(401);
    expect((await call({ SUPABASE_SECRET_KEY: SECRET }, { apikey: SECRET })).status).toBe(503);
  });
});

describe('callers of endpoints open to users and the service', () => {
  const platform = readPlatformConfig(envOf(hosted));
  const request = (headers: Record<string, string>) => new Request('http://functions/conversations/stats', { headers });

  it('sees the service in a secret key, and a user in a user token', () => {
    expect(callerOf(request({ authorization: `Bearer ${ANON_KEY}`, apikey: SECRET }), { service: platform })).toEqual({ kind: 'service' });
    expect(callerOf(request({ apikey: BACKEND_SECRET }), { service: platform })).toEqual({ kind: 'service' });
    expect(callerOf(request({ authorization: `Bearer ${USER_TOKEN}`, apikey: PUBLISHABLE }), { service: platform })).toMatchObject({ kind: 'user' });
  });

  it('never sees the service where the endpoint is for users only', () => {
    expect(() => callerOf(request({ authorization: `Bearer ${ANON_KEY}`, apikey: SECRET }))).toThrow(/Sign in/);
    expect(() => callerOf(request({ apikey: SECRET }))).toThrow(/Missing bearer token/);
    expect(() => requireService(request({ apikey: SECRET }), { serviceRoleKey: SERVICE_ROLE_KEY })).toThrow(/Service credentials/);
  });
});
