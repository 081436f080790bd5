// The local API's pure parts: GoTrue's two error shapes (chosen by
// X-Supabase-Api-Version), Go's time format, GoTrue's refresh token alphabet,
// and which paths are answered as not served locally.
import { describe, expect, it } from 'vitest';
import { goTrueErrors, renderGoTrueError } from '../../src/dev/auth/errors.ts';
import { goTime, newRefreshToken } from '../../src/dev/auth/store.ts';
import { notServedMessage, unservedService } from '../../src/dev/unserved.ts';

describe('GoTrue error shapes', () => {
  it.each([
    [undefined, { code: 400, error_code: 'invalid_credentials', msg: 'Invalid login credentials' }, undefined],
    ['not-a-date', { code: 400, error_code: 'invalid_credentials', msg: 'Invalid login credentials' }, undefined],
    ['2023-12-31', { code: 400, error_code: 'invalid_credentials', msg: 'Invalid login credentials' }, undefined],
    ['2024-01-01', { code: 'invalid_credentials', message: 'Invalid login credentials' }, '2024-01-01'],
    ['2025-06-30', { code: 'invalid_credentials', message: 'Invalid login credentials' }, '2024-01-01'],
  ])('X-Supabase-Api-Version %s', (header, body, echoed) => {
    const rendered = renderGoTrueError(goTrueErrors.invalidCredentials(), header);
    expect(rendered.status).toBe(400);
    expect(rendered.body).toEqual(body);
    expect(rendered.headers['x-sb-error-code']).toBe('invalid_credentials');
    expect(rendered.headers['x-supabase-api-version']).toBe(echoed);
  });

  it('carries weak_password reasons in both shapes, and OAuth-style errors as { error, error_description }', () => {
    const weak = goTrueErrors.weakPassword('Password should be at least 6 characters.', ['length']);
    expect(renderGoTrueError(weak, '2024-01-01').body).toEqual({ code: 'weak_password', message: 'Password should be at least 6 characters.', weak_password: { reasons: ['length'] } });
    expect(renderGoTrueError(weak, undefined).body).toMatchObject({ code: 422, error_code: 'weak_password', weak_password: { reasons: ['length'] } });
    expect(renderGoTrueError(goTrueErrors.refreshTokenRequired(), '2024-01-01')).toEqual({
      status: 400,
      headers: {},
      body: { error: 'invalid_request', error_description: 'refresh_token required' },
    });
  });
});

describe('GoTrue formats', () => {
  it.each([
    ['2026-11-23T20:33:22.597239Z', '2026-11-23T20:33:22.597239Z'],
    ['2026-11-23T20:33:22.597200Z', '2026-11-23T20:33:22.5972Z'],
    ['2026-11-23T20:33:22.000000Z', '2026-11-23T20:33:22Z'],
  ])('goTime(%s) is %s, as Go marshals a time.Time', (text, expected) => {
    expect(goTime(text)).toBe(expected);
  });

  it('makes 12-character lowercase base32 refresh tokens, all different', () => {
    const tokens = Array.from({ length: 1000 }, newRefreshToken);
    for (const token of tokens) expect(token).toMatch(/^[a-z2-7]{12}$/);
    expect(new Set(tokens).size).toBe(tokens.length);
  });
});

describe('what the local API does not serve', () => {
  it.each([
    ['/rest/v1/conversations', 'rest'],
    ['/rest/v1', 'rest'],
    ['/storage/v1/object/list/avatars', 'storage'],
    ['/realtime/v1/websocket', 'realtime'],
    ['/graphql/v1', 'graphql'],
    ['/functions/v1/health', null],
    ['/auth/v1/token', null],
    ['/rest/v10', null],
  ])('%s → %s', (path, service) => {
    expect(unservedService(path)).toBe(service);
  });

  it('says what the local stack serves and where to go instead', () => {
    expect(notServedMessage('rest')).toBe(
      'The Data API (PostgREST: supabase.from() and .rpc()) is not served here: the local stack serves Edge Functions and Auth only; ' +
        'use a hosted project or `supabase start` for the Data API, Realtime and Storage.',
    );
  });
});
