// A frontend developer's local stack, through a real supabase-js client:
// e-mail and password Auth answered like GoTrue (sign-up, sign-in, user,
// refresh, sign-out, and the session reaching a Strata function), GoTrue's
// errors, and honest errors from what is not served locally (Data API,
// Storage, Realtime, other Auth routes).
import { randomUUID } from 'node:crypto';
import { AuthApiError, AuthWeakPasswordError, createClient, isAuthSessionMissingError, type SupabaseClient } from '@supabase/supabase-js';
import WebSocket from 'ws';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { tokenFor } from './helpers/archive.ts';
import { connect, createUser } from './helpers/db.ts';

const stack = inject('stack');
const sql = connect({ max: 1 });
afterAll(() => sql.end());

const NOT_SERVED = /the local stack serves Edge Functions and Auth only.*hosted project or `supabase start`/is;
const PASSWORD = 'correct horse battery';

function client(): SupabaseClient {
  return createClient(stack.apiUrl, stack.anonKey, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    // Node 20 has no WebSocket of its own (browsers do); supabase-js wants one for Realtime.
    realtime: { transport: WebSocket as never },
  });
}

const newEmail = (label: string) => `${label}-${randomUUID()}@Example.test`;

function claimsOf(token: string): Record<string, any> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8'));
}

async function signedUp(label: string): Promise<{ supabase: SupabaseClient; email: string; userId: string }> {
  const supabase = client();
  const email = newEmail(label);
  const { data, error } = await supabase.auth.signUp({ email, password: PASSWORD });
  expect(error).toBeNull();
  return { supabase, email: email.toLowerCase(), userId: data.user!.id };
}

function authFetch(path: string, init: RequestInit & { headers?: Record<string, string> } = {}) {
  return fetch(`${stack.apiUrl}/auth/v1${path}`, { ...init, headers: { apikey: stack.anonKey, 'content-type': 'application/json', ...init.headers } });
}

describe('local Auth with supabase-js', () => {
  it('signs up, signs in, reads the user, refreshes, calls a function with the session and signs out', async () => {
    const supabase = client();
    const email = newEmail('frontend');
    const signUp = await supabase.auth.signUp({ email, password: PASSWORD, options: { data: { display_name: 'Ada' } } });
    expect(signUp.error).toBeNull();
    // Local sign-ups are confirmed at once ([auth.email] enable_confirmations = false): a session comes back.
    expect(signUp.data.session).toMatchObject({ token_type: 'bearer', expires_in: 3600, refresh_token: expect.stringMatching(/^[a-z2-7]{12}$/) });
    const user = signUp.data.user!;
    expect(user).toMatchObject({
      aud: 'authenticated',
      role: 'authenticated',
      email: email.toLowerCase(),
      phone: '',
      app_metadata: { provider: 'email', providers: ['email'] },
      user_metadata: { display_name: 'Ada', email: email.toLowerCase(), email_verified: true, phone_verified: false, sub: user.id },
      is_anonymous: false,
      identities: [{ id: user.id, user_id: user.id, provider: 'email', identity_data: { sub: user.id, email: email.toLowerCase(), email_verified: false } }],
    });
    expect(user.email_confirmed_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    expect(user.confirmed_at).toBe(user.email_confirmed_at);
    expect(user.last_sign_in_at).toBeTruthy();

    // The rows GoTrue would have written.
    const [row] = await sql`
      select instance_id, aud, role, email, encrypted_password, email_confirmed_at is not null as confirmed,
             confirmation_token, recovery_token, email_change_token_new, email_change, is_sso_user, is_anonymous, last_sign_in_at is not null as signed_in
        from auth.users where id = ${user.id}`;
    expect(row).toMatchObject({
      instance_id: '00000000-0000-0000-0000-000000000000', aud: 'authenticated', role: 'authenticated', email: email.toLowerCase(),
      confirmed: true, confirmation_token: '', recovery_token: '', email_change_token_new: '', email_change: '',
      is_sso_user: false, is_anonymous: false, signed_in: true,
    });
    expect(row!.encrypted_password).toMatch(/^\$2a\$10\$.{53}$/);
    expect(row!.encrypted_password).not.toContain(PASSWORD);

    const signIn = await supabase.auth.signInWithPassword({ email, password: PASSWORD });
    expect(signIn.error).toBeNull();
    const session = signIn.data.session!;
    const claims = claimsOf(session.access_token);
    expect(claims).toMatchObject({
      iss: `${stack.apiUrl}/auth/v1`, sub: user.id, aud: 'authenticated', role: 'authenticated', email: email.toLowerCase(),
      phone: '', aal: 'aal1', amr: [{ method: 'password', timestamp: expect.any(Number) }], is_anonymous: false,
      app_metadata: { provider: 'email' }, user_metadata: { display_name: 'Ada' },
    });
    expect(claims.exp - claims.iat).toBe(3600);
    expect(session.expires_at).toBe(claims.exp);
    const [sessionRow] = await sql`select user_id, aal from auth.sessions where id = ${claims.session_id}`;
    expect(sessionRow).toEqual({ user_id: user.id, aal: 'aal1' });
    expect(claims.session_id).not.toBe(claimsOf(signUp.data.session!.access_token).session_id);

    const got = await supabase.auth.getUser();
    expect(got.error).toBeNull();
    expect(got.data.user).toMatchObject({ id: user.id, email: email.toLowerCase(), identities: [{ provider: 'email' }] });

    // The session reaches the functions through the gateway, which verifies the same JWT.
    const created = await supabase.functions.invoke('conversations', { body: { title: 'Signed in locally' } });
    expect(created.error).toBeNull();
    expect(created.data.conversation).toMatchObject({ title: 'Signed in locally', user_id: user.id });

    const refreshed = await supabase.auth.refreshSession();
    expect(refreshed.error).toBeNull();
    const next = refreshed.data.session!;
    expect(next.refresh_token).not.toBe(session.refresh_token);
    expect(claimsOf(next.access_token)).toMatchObject({ sub: user.id, session_id: claims.session_id });
    const [rotated] = await sql`select revoked, (select parent from auth.refresh_tokens where token = ${next.refresh_token}) as child_parent
                                  from auth.refresh_tokens where token = ${session.refresh_token}`;
    expect(rotated).toEqual({ revoked: true, child_parent: session.refresh_token });
    const listed = await supabase.functions.invoke('conversations', { method: 'GET' });
    expect(listed.error).toBeNull();
    expect(listed.data.conversations.map((c: { id: string }) => c.id)).toContain(created.data.conversation.id);

    const signOut = await supabase.auth.signOut();
    expect(signOut.error).toBeNull();
    expect(await sql`select 1 from auth.sessions where user_id = ${user.id}`).toHaveLength(0); // scope global
    // The old access token still verifies (JWTs live until exp), but its session is gone.
    const after = await supabase.auth.getUser(next.access_token);
    expect(isAuthSessionMissingError(after.error)).toBe(true);
    const stale = await authFetch('/token?grant_type=refresh_token', { method: 'POST', body: JSON.stringify({ refresh_token: next.refresh_token }) });
    expect(stale.status).toBe(400);
    expect(await stale.json()).toEqual({ code: 400, error_code: 'refresh_token_not_found', msg: 'Invalid Refresh Token: Refresh Token Not Found' });
  });

  it('answers a wrong password, an unknown e-mail and a password-less user with "Invalid login credentials"', async () => {
    const { supabase, email } = await signedUp('wrong-password');
    const scripted = await createUser(sql, 'scripted'); // as `strata user create` makes them: no password
    for (const attempt of [
      { email, password: 'not the password' },
      { email: newEmail('nobody'), password: PASSWORD },
      { email: scripted.email, password: PASSWORD },
    ]) {
      const { data, error } = await supabase.auth.signInWithPassword(attempt);
      expect(data.session).toBeNull();
      expect(error).toBeInstanceOf(AuthApiError);
      expect(error).toMatchObject({ message: 'Invalid login credentials', status: 400, code: 'invalid_credentials' });
    }
    // E-mail addresses are compared case-insensitively.
    const upper = await supabase.auth.signInWithPassword({ email: email.toUpperCase(), password: PASSWORD });
    expect(upper.error).toBeNull();
  });

  it('refuses a second sign-up with the same e-mail as GoTrue does (422 user_already_exists)', async () => {
    const { email } = await signedUp('duplicate');
    const again = await client().auth.signUp({ email: email.toUpperCase(), password: 'another password' });
    expect(again.data.session).toBeNull();
    expect(again.error).toMatchObject({ name: 'AuthApiError', message: 'User already registered', status: 422, code: 'user_already_exists' });
    // Also for a user made by `strata user create` (or any SQL insert).
    const scripted = await createUser(sql, 'scripted-dup');
    const taken = await client().auth.signUp({ email: scripted.email, password: PASSWORD });
    expect(taken.error).toMatchObject({ message: 'User already registered', code: 'user_already_exists' });
    expect(await sql`select count(*)::int as n from auth.users where lower(email) = ${email}`).toEqual([{ n: 1 }]);
  });

  it.each([
    ['a short password', { email: newEmail('weak'), password: '12345' }, 'AuthWeakPasswordError', 422, 'weak_password', 'Password should be at least 6 characters.'],
    ['a malformed e-mail', { email: 'not-an-email', password: PASSWORD }, 'AuthApiError', 400, 'validation_failed', 'Unable to validate email address: invalid format'],
    ['a phone number', { phone: '+15555550100', password: PASSWORD }, 'AuthApiError', 400, 'phone_provider_disabled', expect.stringContaining('Phone signups are disabled')],
  ])('rejects a sign-up with %s', async (_name, credentials, name, status, code, message) => {
    const { error } = await client().auth.signUp(credentials as { email: string; password: string });
    expect(error).toMatchObject({ name, status, code, message });
    if (code === 'weak_password') expect((error as AuthWeakPasswordError).reasons).toEqual(['length']);
  });

  it('answers in the legacy shape without X-Supabase-Api-Version, and in the 2024-01-01 shape with it', async () => {
    const body = JSON.stringify({ email: newEmail('nobody'), password: PASSWORD });
    const legacy = await authFetch('/token?grant_type=password', { method: 'POST', body });
    expect(legacy.status).toBe(400);
    expect(legacy.headers.get('x-sb-error-code')).toBe('invalid_credentials');
    expect(await legacy.json()).toEqual({ code: 400, error_code: 'invalid_credentials', msg: 'Invalid login credentials' });
    const current = await authFetch('/token?grant_type=password', { method: 'POST', body, headers: { 'x-supabase-api-version': '2024-01-01' } });
    expect(current.headers.get('x-supabase-api-version')).toBe('2024-01-01');
    expect(await current.json()).toEqual({ code: 'invalid_credentials', message: 'Invalid login credentials' });
    const grant = await authFetch('/token?grant_type=magic', { method: 'POST', body });
    expect(await grant.json()).toEqual({ code: 400, error_code: 'invalid_credentials', msg: 'unsupported_grant_type' });
    const bad = await authFetch('/signup', { method: 'POST', body: '{"email": ' });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error_code).toBe('bad_json');
  });

  it('reuses a rotated refresh token only as GoTrue does: its child is handed out again while unused', async () => {
    const { supabase } = await signedUp('reuse');
    const { data } = await supabase.auth.getSession();
    const first = data.session!.refresh_token;
    const refresh = (token: string) => authFetch('/token?grant_type=refresh_token', { method: 'POST', body: JSON.stringify({ refresh_token: token }) });
    const second = (await (await refresh(first)).json()).refresh_token as string;
    // The client missed the answer and sends the old token again: the same child comes back.
    expect((await (await refresh(first)).json()).refresh_token).toBe(second);
    const third = (await (await refresh(second)).json()).refresh_token as string;
    expect(third).not.toBe(second);
    // The first token's child is no longer the active one; past the reuse interval (10 s) that is
    // abuse: the session's tokens are revoked.
    await sql`update auth.refresh_tokens set updated_at = now() - interval '1 minute' where token = ${first}`;
    const reused = await refresh(first);
    expect(await reused.json()).toEqual({ code: 400, error_code: 'refresh_token_already_used', msg: 'Invalid Refresh Token: Already Used' });
    expect(await sql`select token from auth.refresh_tokens where token = ${third} and revoked`).toHaveLength(1);
    const missing = await refresh('');
    expect(await missing.json()).toEqual({ error: 'invalid_request', error_description: 'refresh_token required' });
  });

  it('signs out one session (local), the others (others) or all (global)', async () => {
    const { email, userId } = await signedUp('scopes');
    const sessions = await Promise.all([0, 1, 2].map(async () => {
      const supabase = client();
      const { data } = await supabase.auth.signInWithPassword({ email, password: PASSWORD });
      return { supabase, token: data.session!.access_token };
    }));
    const alive = async () => (await sql`select count(*)::int as n from auth.sessions where user_id = ${userId}`)[0]!.n;
    expect(await alive()).toBe(4); // the sign-up's session too
    expect((await sessions[0]!.supabase.auth.signOut({ scope: 'local' })).error).toBeNull();
    expect(await alive()).toBe(3);
    expect((await sessions[1]!.supabase.auth.signOut({ scope: 'others' })).error).toBeNull();
    expect(await alive()).toBe(1);
    expect((await sessions[1]!.supabase.auth.getUser()).error).toBeNull();
    expect(isAuthSessionMissingError((await client().auth.getUser(sessions[2]!.token)).error)).toBe(true);
  });

  it('reads the user for a token without a session, as `strata user create` prints, and refuses bad tokens', async () => {
    const scripted = await createUser(sql, 'token-only');
    const { data, error } = await client().auth.getUser(tokenFor(scripted));
    expect(error).toBeNull();
    expect(data.user).toMatchObject({ id: scripted.id, email: scripted.email, identities: [] });
    const anon = await authFetch('/user', { headers: { authorization: `Bearer ${stack.anonKey}` } });
    expect(anon.status).toBe(403);
    expect(await anon.json()).toEqual({ code: 403, error_code: 'bad_jwt', msg: 'invalid claim: missing sub claim' });
    const none = await authFetch('/user');
    expect(none.status).toBe(401);
    expect((await none.json()).error_code).toBe('no_authorization');
    const gone = await authFetch('/user', { headers: { authorization: `Bearer ${tokenFor({ id: randomUUID() })}` } });
    expect(await gone.json()).toEqual({ code: 403, error_code: 'user_not_found', msg: 'User from sub claim in JWT does not exist' });
  });

  it('answers the Auth routes it does not serve with GoTrue\'s feature_disabled, saying what is not available locally', async () => {
    const { supabase } = await signedUp('unsupported');
    const otp = await supabase.auth.signInWithOtp({ email: newEmail('otp') });
    expect(otp.error).toMatchObject({ status: 404, code: 'feature_disabled' });
    expect(otp.error!.message).toMatch(/POST \/auth\/v1\/otp is not available locally.*`supabase start` for one-time passwords and magic links/);
    const update = await supabase.auth.updateUser({ data: { theme: 'dark' } });
    expect(update.error!.message).toMatch(/PUT \/auth\/v1\/user is not available locally.*updating the user/);
    const pkce = await authFetch('/token?grant_type=pkce', { method: 'POST', body: JSON.stringify({ auth_code: 'x', code_verifier: 'y' }) });
    expect(pkce.status).toBe(404);
    expect(await pkce.json()).toEqual({ code: 404, error_code: 'feature_disabled', msg: expect.stringContaining('the PKCE code exchange') });
    const settings = await authFetch('/settings');
    expect(await settings.json()).toMatchObject({ external: { email: true, phone: false, google: false }, disable_signup: false, mailer_autoconfirm: true });
  });
});

describe('what the local stack does not serve, through supabase-js', () => {
  it('answers the Data API with a PostgREST error saying so', async () => {
    const { supabase } = await signedUp('data-api');
    const { data, error, status } = await supabase.from('conversations').select();
    expect(data).toBeNull();
    expect(status).toBe(501);
    expect(error).toMatchObject({ code: 'not_served_locally', details: expect.stringContaining('GET /rest/v1/conversations'), hint: expect.any(String) });
    expect(error!.message).toMatch(NOT_SERVED);
    expect(error!.message).toContain('Data API');
    const rpc = await supabase.rpc('anything');
    expect(rpc.error!.message).toMatch(NOT_SERVED);
    const insert = await supabase.from('messages').insert({ content: 'x' });
    expect(insert.error!.message).toMatch(NOT_SERVED);
  });

  it('answers Storage with a Storage API error saying so', async () => {
    const supabase = client();
    const listed = await supabase.storage.from('avatars').list();
    expect(listed.error).toMatchObject({ name: 'StorageApiError', status: 501 });
    expect(listed.error!.message).toMatch(NOT_SERVED);
    expect(listed.error!.message).toContain('Storage');
    const upload = await supabase.storage.from('avatars').upload('a.txt', new Blob(['x']));
    expect(upload.error!.message).toMatch(NOT_SERVED);
  });

  it('refuses Realtime channel joins with the reason, which supabase-js reports as CHANNEL_ERROR', async () => {
    const supabase = client();
    try {
      const outcome = await new Promise<{ status: string; error?: Error }>((resolve) => {
        supabase
          .channel('chat')
          .on('postgres_changes', { event: 'INSERT', schema: 'public', table: 'messages' }, () => {})
          .subscribe((status, error) => {
            if (status !== 'SUBSCRIBED') resolve({ status, error });
            else resolve({ status });
          });
      });
      expect(outcome.status).toBe('CHANNEL_ERROR');
      expect(outcome.error!.message).toMatch(NOT_SERVED);
      expect(outcome.error!.message).toContain('Realtime');
    } finally {
      await supabase.removeAllChannels();
      supabase.realtime.disconnect();
    }
  });

  it('lets a browser on another origin read these errors (CORS)', async () => {
    const preflight = await fetch(`${stack.apiUrl}/auth/v1/token?grant_type=password`, {
      method: 'OPTIONS',
      headers: { origin: 'http://localhost:3000', 'access-control-request-method': 'POST', 'access-control-request-headers': 'apikey, content-type, x-supabase-api-version' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('http://localhost:3000');
    expect(preflight.headers.get('access-control-allow-headers')).toContain('x-supabase-api-version');
    const rest = await fetch(`${stack.apiUrl}/rest/v1/conversations`, { headers: { origin: 'http://localhost:3000' } });
    expect(rest.headers.get('access-control-allow-origin')).toBe('http://localhost:3000');
    const auth = await authFetch('/token?grant_type=password', { method: 'POST', body: '{}', headers: { origin: 'http://localhost:3000' } });
    expect(auth.headers.get('access-control-expose-headers')).toContain('X-Supabase-Api-Version');
  });
});
