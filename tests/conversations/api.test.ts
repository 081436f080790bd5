// The conversations API against the real stack: happy paths, RLS through the
// function (another user's id is 404), and every kind of bad input with its
// status and stable error code.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { api, tokenFor, waitForArchived } from '../helpers/archive.ts';
import { asActor, connect, createUser, type Sql } from '../helpers/db.ts';

const stack = inject('stack');
let sql: Sql;
let owner: { id: string; email: string };
let other: { id: string; email: string };
let token: string;

beforeAll(async () => {
  sql = connect();
  owner = await createUser(sql, 'conv');
  other = await createUser(sql, 'conv-other');
  token = tokenFor(owner);
});
afterAll(() => sql.end());

async function createConversation(body: unknown = { title: 'Chat' }) {
  const created = await api('/conversations', { token, method: 'POST', body });
  expect(created.status, created.text).toBe(201);
  return created.body.conversation as { id: string; expires_at: string | null; updated_at: string };
}

describe('conversations API', () => {
  it('creates a conversation, appends messages with tool calls and feedback, and reads recent history in order', async () => {
    const conversation = await createConversation({ title: 'Support', metadata: { channel: 'web' } });
    expect(conversation).toMatchObject({ title: 'Support', metadata: { channel: 'web' }, user_id: owner.id, expires_at: null, message_count: 0 });
    const bodies = Array.from({ length: 12 }, (_, i) => ({
      role: i % 2 ? 'assistant' : 'user',
      content: `message ${i}`,
      ...(i % 2 ? { metadata: { tool_calls: [{ name: 'lookup', args: { i } }] }, model: 'gpt-x', tokens: 10 + i, duration_ms: 100 } : {}),
    }));
    const ids: string[] = [];
    for (const body of bodies) {
      const added = await api(`/conversations/${conversation.id}/messages`, { token, method: 'POST', body });
      expect(added.status, added.text).toBe(201);
      ids.push(added.body.message.id);
    }
    const recent = await api(`/conversations/${conversation.id}`, { token });
    expect(recent.status).toBe(200);
    expect(recent.body.messages.map((m: { content: string }) => m.content)).toEqual(bodies.slice(2).map((b) => b.content));
    expect(recent.body.messages[1]).toMatchObject({ role: 'assistant', model: 'gpt-x', tokens: 13, metadata: { tool_calls: [{ name: 'lookup' }] } });
    const older = await api(`/conversations/${conversation.id}?limit=10&before=${recent.body.before_cursor}`, { token });
    expect(older.body.messages.map((m: { content: string }) => m.content)).toEqual(['message 0', 'message 1']);
    expect(older.body.before_cursor).toBeNull();
    expect(Date.parse(recent.body.conversation.updated_at)).toBeGreaterThan(Date.parse(conversation.updated_at));

    const feedback = await api(`/conversations/${conversation.id}/messages/${ids[3]}`, { token, method: 'PATCH', body: { feedback: 'negative' } });
    expect(feedback.status).toBe(200);
    expect(feedback.body.message.feedback).toBe('negative');
  });

  it("lists the caller's conversations by recency with message counts, paginated", async () => {
    const user = await createUser(sql, 'lister');
    const userToken = tokenFor(user);
    const created: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await api('/conversations', { token: userToken, method: 'POST', body: { title: `c${i}` } });
      created.push(r.body.conversation.id);
    }
    await api(`/conversations/${created[1]}/messages`, { token: userToken, method: 'POST', body: { role: 'user', content: 'bump' } });
    const first = await api('/conversations?limit=2', { token: userToken });
    expect(first.body.conversations.map((c: { id: string }) => c.id)).toEqual([created[1], created[4]]);
    expect(first.body.conversations[0].message_count).toBe(1);
    const seen = [...first.body.conversations];
    let cursor = first.body.next_cursor;
    while (cursor) {
      const page = await api(`/conversations?limit=2&cursor=${cursor}`, { token: userToken });
      seen.push(...page.body.conversations);
      cursor = page.body.next_cursor;
    }
    expect(seen.map((c) => c.id)).toEqual([created[1], created[4], created[3], created[2], created[0]]);
  });

  it('pages through rows whose timestamps tie or differ by microseconds, skipping none', async () => {
    const user = await createUser(sql, 'ties');
    const userToken = tokenFor(user);
    // One statement: the same now() for all, so only the id breaks the tie.
    await sql`insert into conversations (user_id, title) select ${user.id}, 'tie ' || n from generate_series(1, 5) n`;
    const all = await sql`select id from conversations where user_id = ${user.id}`;
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await api(`/conversations?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { token: userToken });
      seen.push(...page.body.conversations.map((c: { id: string }) => c.id));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(seen.sort()).toEqual(all.map((r) => r.id).sort());

    // History: messages a few microseconds apart, paged one at a time.
    const [c] = await sql`insert into conversations (user_id) values (${user.id}) returning id`;
    await sql`insert into messages (conversation_id, user_id, role, content, created_at)
              select ${c!.id}, ${user.id}, 'user', 'm' || n, timestamptz '2026-01-01 00:00:00.000100+00' + n * interval '1 microsecond'
                from generate_series(1, 4) n`;
    const contents: string[] = [];
    let before: string | null = null;
    do {
      const page = await api(`/conversations/${c!.id}?limit=1${before ? `&before=${before}` : ''}`, { token: userToken });
      contents.unshift(...page.body.messages.map((m: { content: string }) => m.content));
      before = page.body.before_cursor;
    } while (before);
    expect(contents).toEqual(['m1', 'm2', 'm3', 'm4']);
  });

  it('clears the messages and keeps the conversation', async () => {
    const conversation = await createConversation();
    for (const content of ['a', 'b', 'c']) await api(`/conversations/${conversation.id}/messages`, { token, method: 'POST', body: { role: 'user', content } });
    const cleared = await api(`/conversations/${conversation.id}/clear`, { token, method: 'POST' });
    expect(cleared.body).toEqual({ conversation_id: conversation.id, deleted_messages: 3 });
    const after = await api(`/conversations/${conversation.id}`, { token });
    expect(after.status).toBe(200);
    expect(after.body.messages).toEqual([]);
  });

  it('exports in the archive format, equal to what the archive stores', async () => {
    const conversation = await createConversation({ title: 'Export me' });
    await api(`/conversations/${conversation.id}/messages`, { token, method: 'POST', body: { role: 'user', content: 'ünïcode ✓', metadata: { a: [1, { b: null }] } } });
    const exported = await api(`/conversations/${conversation.id}/export`, { token });
    expect(exported.status).toBe(200);
    expect(exported.headers.get('content-disposition')).toContain(conversation.id);
    expect(exported.body).toMatchObject({ format_version: 1, conversation: { id: conversation.id, title: 'Export me' }, archive_metadata: { message_count: 1, user_id: owner.id } });

    const deleted = await api(`/conversations/${conversation.id}`, { token, method: 'DELETE' });
    expect(deleted.status).toBe(202);
    expect(deleted.body).toMatchObject({ conversation_id: conversation.id, status: expect.stringMatching(/pending|archiving|stored/) });
    await waitForArchived(sql, [conversation.id]);
    const archived = await api(`/archive/conversations/${conversation.id}`, { token });
    const { deleted_at: _a, ...archivedConversation } = archived.body.conversation;
    const { deleted_at: _b, ...exportedConversation } = exported.body.conversation;
    expect(archivedConversation).toEqual(exportedConversation);
    expect(archived.body.messages).toEqual(exported.body.messages);
  });

  it('a deleted conversation answers 404 everywhere', async () => {
    const conversation = await createConversation();
    expect((await api(`/conversations/${conversation.id}`, { token, method: 'DELETE' })).status).toBe(202);
    for (const [method, path, body] of [
      ['GET', '', undefined],
      ['POST', '/messages', { role: 'user', content: 'late' }],
      ['POST', '/clear', undefined],
      ['POST', '/extend', { hours: 1 }],
      ['GET', '/export', undefined],
      ['DELETE', '', undefined],
    ] as const) {
      const result = await api(`/conversations/${conversation.id}${path}`, { token, method, body });
      expect(result.status, `${method} ${path}`).toBe(404);
      expect(result.body.error.code).toBe('not_found');
    }
    await waitForArchived(sql, [conversation.id]);
  });

  it("another user's conversation is 404, and nothing changes", async () => {
    const conversation = await createConversation();
    const otherToken = tokenFor(other);
    for (const [method, path, body] of [
      ['GET', '', undefined],
      ['POST', '/messages', { role: 'user', content: 'intrusion' }],
      ['POST', '/clear', undefined],
      ['POST', '/extend', { hours: 5 }],
      ['GET', '/export', undefined],
      ['DELETE', '', undefined],
    ] as const) {
      const result = await api(`/conversations/${conversation.id}${path}`, { token: otherToken, method, body });
      expect(result.status, `${method} ${path}`).toBe(404);
    }
    const [row] = await sql`select deleted_at, expires_at from conversations where id = ${conversation.id}`;
    expect(row).toEqual({ deleted_at: null, expires_at: null });
    expect(await sql`select 1 from messages where conversation_id = ${conversation.id}`).toHaveLength(0);
  });

  it('stats: the caller’s numbers, and the project’s for the service role', async () => {
    const user = await createUser(sql, 'stats');
    const userToken = tokenFor(user);
    const a = (await api('/conversations', { token: userToken, method: 'POST', body: {} })).body.conversation.id;
    await api('/conversations', { token: userToken, method: 'POST', body: {} });
    for (const role of ['user', 'assistant', 'user']) await api(`/conversations/${a}/messages`, { token: userToken, method: 'POST', body: { role, content: 'x' } });
    await sql`insert into conversations (user_id, expires_at) values (${user.id}, now() - interval '1 minute')`;
    const mine = await api('/conversations/stats', { token: userToken });
    // The current names and the seed's (total_conversations, total_messages, ttl_hours), with the same values.
    expect(mine.body).toEqual({
      scope: 'user', conversations: 2, messages: 3, expired_conversations: 1, default_ttl_hours: null, expiry_policy: 'archive',
      total_conversations: 2, total_messages: 3, ttl_hours: null,
    });
    const project = await api('/conversations/stats', { token: stack.serviceRoleKey });
    expect(project.body).toMatchObject({ scope: 'project', messages_by_role: expect.objectContaining({ user: expect.any(Number) }), average_messages_per_conversation: expect.any(Number) });
    expect(project.body.conversations).toBeGreaterThanOrEqual(2);
    expect(project.body).toMatchObject({
      total_conversations: project.body.conversations,
      total_messages: project.body.messages,
      ttl_hours: project.body.default_ttl_hours,
    });
  });

  it('stats: public.conversation_stats() over the Data API (rpc) carries the seed names too, and follows the default TTL', async () => {
    const user = await createUser(sql, 'stats-rpc');
    await api('/conversations', { token: tokenFor(user), method: 'POST', body: {} });
    const asCaller = () => asActor(sql, { kind: 'user', id: user.id }, async (tx) => (await tx`select public.conversation_stats() as stats`)[0]!.stats);
    expect(await asCaller()).toEqual({
      conversations: 1, messages: 0, expired_conversations: 0, default_ttl_hours: null, expiry_policy: 'archive',
      total_conversations: 1, total_messages: 0, ttl_hours: null,
    });
    await sql`update private.settings set default_ttl_hours = 48`;
    try {
      expect(await asCaller()).toMatchObject({ default_ttl_hours: 48, ttl_hours: 48 });
    } finally {
      await sql`update private.settings set default_ttl_hours = null`;
    }
  });
});

describe('bad input', () => {
  let id: string;
  beforeAll(async () => {
    id = (await createConversation()).id;
  });

  it.each([
    ['unknown field', 'POST', '/conversations', { title: 'x', colour: 'red' }, 400, 'invalid_request'],
    ['title of the wrong type', 'POST', '/conversations', { title: 42 }, 400, 'invalid_request'],
    ['metadata that is not an object', 'POST', '/conversations', { metadata: [1, 2] }, 400, 'invalid_request'],
    ['ttl_hours out of range', 'POST', '/conversations', { ttl_hours: 0 }, 400, 'invalid_request'],
    ['ttl_hours not an integer', 'POST', '/conversations', { ttl_hours: 1.5 }, 400, 'invalid_request'],
    ['malformed JSON', 'POST', '/conversations', '{"title": ', 400, 'invalid_json'],
    ['an unknown role', 'POST', '/conversations/:id/messages', { role: 'robot', content: 'x' }, 400, 'invalid_request'],
    ['content with a NUL character', 'POST', '/conversations/:id/messages', { role: 'user', content: 'a\u0000b' }, 400, 'invalid_request'],
    ['content missing', 'POST', '/conversations/:id/messages', { role: 'user' }, 400, 'invalid_request'],
    ['content of the wrong type', 'POST', '/conversations/:id/messages', { role: 'user', content: 5 }, 400, 'invalid_request'],
    ['negative tokens', 'POST', '/conversations/:id/messages', { role: 'user', content: 'x', tokens: -1 }, 400, 'invalid_request'],
    ['unknown message field', 'POST', '/conversations/:id/messages', { role: 'user', content: 'x', sender: 'me' }, 400, 'invalid_request'],
    ['content over the limit', 'POST', '/conversations/:id/messages', { role: 'user', content: 'x'.repeat(1024 * 1024 + 1) }, 413, 'payload_too_large'],
    ['metadata over the limit', 'POST', '/conversations/:id/messages', { role: 'user', content: 'x', metadata: { blob: 'y'.repeat(70 * 1024) } }, 413, 'payload_too_large'],
    ['a body far over any limit', 'POST', '/conversations/:id/messages', 'z'.repeat(8 * 1024 * 1024), 413, 'payload_too_large'],
    ['invalid feedback', 'PATCH', '/conversations/:id/messages/00000000-0000-4000-8000-000000000000', { feedback: 'meh' }, 400, 'invalid_request'],
    ['extend without hours', 'POST', '/conversations/:id/extend', {}, 400, 'invalid_request'],
    ['extend by a string', 'POST', '/conversations/:id/extend', { hours: '5' }, 400, 'invalid_request'],
    ['an invalid conversation UUID', 'GET', '/conversations/not-a-uuid', undefined, 400, 'invalid_id'],
    ['an invalid message UUID', 'PATCH', '/conversations/:id/messages/123', { feedback: 'positive' }, 400, 'invalid_id'],
    ['an unknown message', 'PATCH', '/conversations/:id/messages/00000000-0000-4000-8000-000000000000', { feedback: 'positive' }, 404, 'not_found'],
    ['an unknown conversation', 'GET', '/conversations/00000000-0000-4000-8000-000000000000', undefined, 404, 'not_found'],
    ['a page size over the maximum', 'GET', '/conversations?limit=1000', undefined, 400, 'invalid_request'],
    ['an unknown query parameter', 'GET', '/conversations?sort=asc', undefined, 400, 'invalid_request'],
    ['a forged cursor', 'GET', '/conversations?cursor=abc', undefined, 400, 'invalid_request'],
    ['a wrong method', 'PUT', '/conversations/:id', {}, 405, 'method_not_allowed'],
    ['an unknown path', 'GET', '/conversations/:id/nothing', undefined, 404, 'not_found'],
  ])('%s → %s %s, and nothing changes', async (_name, method, path, body, status, code) => {
    const before = await sql`select count(*)::int as n from messages where conversation_id = ${id}`;
    const result = await api(path.replace(':id', id), { token, method, body });
    expect(result.status, result.text.slice(0, 300)).toBe(status);
    expect(result.body.error).toEqual({ code, message: expect.any(String), ...(result.body.error.details ? { details: expect.anything() } : {}) });
    expect(result.text).not.toMatch(/at .*\.ts:\d+|postgres|SQLSTATE/i);
    const after = await sql`select count(*)::int as n from messages where conversation_id = ${id}`;
    expect(after).toEqual(before);
  });

  it('needs a user: no token is 401 at the gateway, the anon key is 401 at the function', async () => {
    expect((await api('/conversations')).status).toBe(401);
    const anon = await api('/conversations', { token: stack.anonKey });
    expect(anon.status).toBe(401);
    expect(anon.body.error.code).toBe('unauthorized');
  });
});
