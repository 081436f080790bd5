// Never a 500 for a client's mistake. Each refused input here answered 500
// (or, past the nesting limit, was stored although Postgres cannot take such
// JSON much deeper); each must get its stable 4xx code over real HTTP and
// change nothing, while the accepted neighbours of each limit still work.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { encodeCursor } from '../../supabase/functions/_shared/http/cursor.ts';
import { MAX_BODY_DEPTH, MAX_JSON_DEPTH } from '../../supabase/functions/_shared/http/json-depth.ts';
import { api, tokenFor, waitForArchived, waitUntil } from '../helpers/archive.ts';
import { connect, createUser, type Sql } from '../helpers/db.ts';

let sql: Sql;
let owner: { id: string; email: string };
let token: string;
let conversationId: string;

beforeAll(async () => {
  sql = connect();
  owner = await createUser(sql, 'no-500');
  token = tokenFor(owner);
  const created = await api('/conversations', { token, method: 'POST', body: { title: 'no 500' } });
  expect(created.status, created.text).toBe(201);
  conversationId = created.body.conversation.id;
  await api(`/conversations/${conversationId}/messages`, { token, method: 'POST', body: { role: 'user', content: 'hello' } });
});
afterAll(() => sql.end());

/** What the owner has: conversations, messages, analyses and files (nothing may change on a refused request). */
async function holdings() {
  const [row] = await sql`
    select (select count(*)::int from conversations where user_id = ${owner.id}) as conversations,
           (select count(*)::int from messages where user_id = ${owner.id}) as messages,
           (select coalesce(max(updated_at)::text, '') from conversations where user_id = ${owner.id}) as last_update,
           (select count(*)::int from analyses where user_id = ${owner.id}) as analyses,
           (select count(*)::int from files where user_id = ${owner.id}) as files`;
  return row;
}

function expectError(result: Awaited<ReturnType<typeof api>>, status: number, code: string) {
  expect(result.status, result.text.slice(0, 300)).toBe(status);
  expect(result.body.error).toEqual({ code, message: expect.any(String), ...(result.body.error?.details ? { details: expect.anything() } : {}) });
  expect(result.text).not.toMatch(/at .*\.ts:\d+|postgres|SQLSTATE|stack depth/i);
}

/** An object nested exactly `depth` levels deep ({"k": "leaf"} is 1), alternating objects and arrays. */
function nested(depth: number): Record<string, unknown> {
  let value: unknown = 'leaf';
  for (let level = depth; level > 1; level--) value = level % 2 ? { k: value } : [value];
  return { k: value };
}

/** The JSON text of an object nested `depth` levels deep, built as text (JSON.stringify recurses). */
const nestedText = (depth: number) => `{"k":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;

describe('cursors that Date.parse accepts and Postgres does not', () => {
  const id = '00000000-0000-4000-8000-000000000000';
  const routes: Array<[string, (cursor: string) => string]> = [
    ['the conversations list', (cursor) => `/conversations?cursor=${cursor}`],
    ['a conversation history (before)', (cursor) => `/conversations/${conversationId}?before=${cursor}`],
    ['the archive list', (cursor) => `/archive/conversations?cursor=${cursor}`],
    ['the files list', (cursor) => `/files?cursor=${cursor}`],
    ['the analyses list', (cursor) => `/analyses?cursor=${cursor}`],
  ];
  const timestamps = [
    '2024-02-30', // not a calendar date
    '2024-02-30T12:00:00+00:00', // not a calendar date, with an offset
    '+275760-09-13T00:00:00.000Z', // JavaScript's last date, a six-digit year
    '1', // a bare number
    '0000-01-01T00:00:00Z', // year 0
  ];
  const cases = routes.flatMap(([route, path]) => timestamps.map((at) => [route, at, path] as const));

  it.each(cases)('%s refuses a cursor at %s: 400 invalid_request', async (_route, at, path) => {
    const result = await api(path(encodeCursor(at, id)), { token });
    expectError(result, 400, 'invalid_request');
  });

  it.each(routes)('%s still accepts a cursor Postgres wrote (microseconds, offset) and one from a Date', async (_route, path) => {
    for (const at of ['2024-02-29T23:59:59.123456+00:00', '2024-02-29T23:59:59.123456+05:30', new Date('2024-02-29T12:00:00Z')]) {
      const result = await api(path(encodeCursor(at, id)), { token });
      expect(result.status, result.text.slice(0, 300)).toBe(200);
    }
  });
});

describe('malformed percent-encoding in a path', () => {
  it.each([
    ['GET', '/conversations/%ZZ'],
    ['GET', '/conversations/%E0%A4%A'],
    ['PATCH', `/conversations/:id/messages/%ZZ`],
    ['GET', '/files/%F0%9F%98'],
    ['DELETE', '/files/%F0%9F%98'],
    ['GET', '/analyses/%C0'],
    ['GET', '/archive/conversations/%ZZ'],
    ['POST', '/archive/conversations/%F0%9F%98/restore'],
  ])('%s %s → 400 invalid_request, and nothing changes', async (method, path) => {
    const before = await holdings();
    const result = await api(path.replace(':id', conversationId), { token, method, body: method === 'PATCH' ? { feedback: 'positive' } : undefined });
    expectError(result, 400, 'invalid_request');
    expect(await holdings()).toEqual(before);
  });
});

describe(`JSON nested deeper than ${MAX_JSON_DEPTH} levels (Postgres fails with "stack depth limit exceeded" below the size limits)`, () => {
  it.each([
    ['conversation metadata one level past the limit', 'POST', '/conversations', () => JSON.stringify({ metadata: nested(MAX_JSON_DEPTH + 1) })],
    ['conversation metadata 20,000 levels deep (40 kB)', 'POST', '/conversations', () => `{"metadata":${nestedText(20_000)}}`],
    ['message metadata one level past the limit', 'POST', '/conversations/:id/messages', () => JSON.stringify({ role: 'user', content: 'x', metadata: nested(MAX_JSON_DEPTH + 1) })],
    ['message metadata 20,000 levels deep (40 kB)', 'POST', '/conversations/:id/messages', () => `{"role":"user","content":"x","metadata":${nestedText(20_000)}}`],
    ['analysis data one level past the limit', 'POST', '/analyses', () => JSON.stringify({ kind: 'analysis', data: nested(MAX_JSON_DEPTH + 1) })],
    ['analysis data 100,000 levels deep', 'POST', '/analyses', () => `{"kind":"analysis","data":${nestedText(100_000)}}`],
    // Refused on the text, before JSON.parse (it was invalid_json before).
    ['a body of 100,000 unclosed [', 'POST', '/conversations', () => '['.repeat(100_000)],
  ])('%s → 400 invalid_request, and nothing changes', async (_name, method, path, body) => {
    const before = await holdings();
    const result = await api(path.replace(':id', conversationId), { token, method, body: body() });
    expectError(result, 400, 'invalid_request');
    expect(await holdings()).toEqual(before);
  });

  // Already 400 before (the schema refused them); they pin the body cap on every JSON route.
  it.each([
    ['a body of 100,000 nested arrays', 'POST', '/conversations/:id/messages', () => '['.repeat(100_000) + ']'.repeat(100_000)],
    [`a file declaration nested ${MAX_BODY_DEPTH + 1} levels deep`, 'POST', '/files', () => `{"name":${nestedText(MAX_BODY_DEPTH)}}`],
  ])('body cap: %s → 400 invalid_request', async (_name, method, path, body) => {
    const before = await holdings();
    const result = await api(path.replace(':id', conversationId), { token, method, body: body() });
    expectError(result, 400, 'invalid_request');
    expect(await holdings()).toEqual(before);
  });

  it('brackets inside strings are not nesting', async () => {
    const metadata = { text: '['.repeat(1000) + '{"a":'.repeat(100), quoted: '\\"[[[' + '\\'.repeat(3) + '"{{{' };
    const added = await api(`/conversations/${conversationId}/messages`, { token, method: 'POST', body: { role: 'user', content: 'brackets', metadata } });
    expect(added.status, added.text).toBe(201);
    expect(added.body.message.metadata).toEqual(metadata);
  });

  it(`stores metadata nested exactly ${MAX_JSON_DEPTH} levels deep, archives it (three levels deeper in the document) and restores it`, async () => {
    const metadata = nested(MAX_JSON_DEPTH);
    const created = await api('/conversations', { token, method: 'POST', body: { title: 'deep', metadata } });
    expect(created.status, created.text).toBe(201);
    const id = created.body.conversation.id as string;
    const added = await api(`/conversations/${id}/messages`, { token, method: 'POST', body: { role: 'tool', content: 'deep', metadata } });
    expect(added.status, added.text).toBe(201);

    expect((await api(`/conversations/${id}`, { token, method: 'DELETE' })).status).toBe(202);
    await waitForArchived(sql, [id]);
    const archived = await api(`/archive/conversations/${id}`, { token });
    expect(archived.status, archived.text.slice(0, 300)).toBe(200);
    expect(archived.body.messages[0].metadata).toEqual(metadata);

    const restored = await api(`/archive/conversations/${id}/restore`, { token, method: 'POST' });
    expect(restored.status, restored.text).toBe(200);
    expect(restored.body).toEqual({ conversation_id: id, message_count: 1, restored: true });
    const read = await api(`/conversations/${id}`, { token });
    expect(read.status).toBe(200);
    expect(read.body.conversation.metadata).toEqual(metadata);
    expect(read.body.messages.map((m: { metadata: unknown }) => m.metadata)).toEqual([metadata]);
  });

  it(`stores analysis data nested exactly ${MAX_JSON_DEPTH} levels deep and reads it back`, async () => {
    const data = nested(MAX_JSON_DEPTH);
    const created = await api('/analyses', { token, method: 'POST', body: { kind: 'analysis', data } });
    expect(created.status, created.text).toBe(201);
    const loaded = await api(`/analyses/${created.body.analysis.id}`, { token });
    expect(loaded.body.data).toEqual(data);
  });
});

describe('POST /conversations/{id}/extend racing DELETE /conversations/{id}', () => {
  it('the extend that waited on the delete answers 404 not_found, not 500', async () => {
    const created = await api('/conversations', { token, method: 'POST', body: { title: 'race' } });
    const id = created.body.conversation.id as string;
    // Deterministic interleaving: the delete holds the row while the extend
    // has already seen the conversation and waits to update it.
    let extend: ReturnType<typeof api> | undefined;
    await sql.begin(async (tx) => {
      await tx`delete from conversations where id = ${id}`;
      extend = api(`/conversations/${id}/extend`, { token, method: 'POST', body: { hours: 1 } });
      await waitUntil('the extend to wait for the row lock', async () =>
        (await sql`select 1 from pg_stat_activity where application_name = 'strata-conversations' and wait_event_type = 'Lock'`).length > 0,
      );
    });
    expectError(await extend!, 404, 'not_found');
    await waitForArchived(sql, [id]);
  });

  it('run concurrently, every answer is 200, 202 or 404', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push((await api('/conversations', { token, method: 'POST', body: { title: `race ${i}` } })).body.conversation.id);
    const results = await Promise.all(
      ids.flatMap((id) => [
        api(`/conversations/${id}/extend`, { token, method: 'POST', body: { hours: 1 } }),
        api(`/conversations/${id}`, { token, method: 'DELETE' }),
        api(`/conversations/${id}/extend`, { token, method: 'POST', body: { hours: 2 } }),
      ]),
    );
    for (const result of results) {
      expect([200, 202, 404], result.text.slice(0, 300)).toContain(result.status);
      if (result.status === 404) expect(result.body.error.code).toBe('not_found');
    }
    await waitForArchived(sql, ids);
  });
});

describe('a body declared far over the limit and sent slowly', () => {
  it('gets its 413 in bounded time, not after the whole body, and nothing changes', async () => {
    const before = await holdings();
    const url = new URL(`${inject('stack').functionsUrl}/conversations/${conversationId}/messages`);
    // 64 MiB declared; 16 KiB sent every 100 ms would take over an hour, far
    // past the test's timeout: the answer must come once the function stops
    // reading (2 s), not when the body ends.
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const request = http.request(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': String(64 * 1024 * 1024) },
      });
      const chunk = Buffer.alloc(16 * 1024, 0x20);
      const drip = setInterval(() => request.write(chunk), 100);
      request.on('response', (response) => {
        clearInterval(drip);
        let body = '';
        response.setEncoding('utf8').on('data', (part) => (body += part)).on('end', () => {
          request.destroy();
          resolve({ status: response.statusCode ?? 0, body });
        });
      });
      request.on('error', (error) => {
        clearInterval(drip);
        reject(error);
      });
    });
    expect(answer.status, answer.body).toBe(413);
    expect(JSON.parse(answer.body).error.code).toBe('payload_too_large');
    expect(await holdings()).toEqual(before);
  });
});
