// Round trip: odd content → delete → the archived object equals the
// pre-delete rows → restore → the rows are byte-identical.
import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, tokenFor, waitForArchived } from '../helpers/archive.ts';
import { asActor, connect, createUser, type Sql } from '../helpers/db.ts';
import { directS3 } from '../helpers/s3.ts';

let sql: Sql;
let owner: { id: string; email: string };
beforeAll(async () => {
  sql = connect();
  owner = await createUser(sql, 'roundtrip');
});
afterAll(() => sql.end());

const ODD_MESSAGES = [
  { role: 'system', content: 'You are terse.', metadata: {} },
  { role: 'user', content: 'Ünïcödé ✓ — 日本語 — עברית — emoji 👩‍💻🚀 — "quotes" \\ backslash \n newline \t tab', metadata: { client: { locale: 'he-IL' } } },
  {
    role: 'assistant',
    content: '',
    metadata: { tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'search', arguments: '{"q":"x"}' } }], nested: { a: [1, { b: null, c: [true, 1.5e10] }] } },
    model: 'gpt-x',
    tokens: 1234,
    duration_ms: 987,
    feedback: 'positive',
  },
  { role: 'tool', content: JSON.stringify({ result: [1, 2, 3] }), metadata: { tool_call_id: 'call_1' } },
  { role: 'assistant', content: 'x'.repeat(1024 * 1024), metadata: {}, feedback: 'negative' },
];

async function rowsOf(conversationId: string) {
  const [conversation] = await sql`select to_jsonb(c)::text as j from conversations c where id = ${conversationId}`;
  const messages = await sql`select to_jsonb(m)::text as j from messages m where conversation_id = ${conversationId} order by created_at, id`;
  return { conversation: conversation?.j as string | undefined, messages: messages.map((m) => m.j as string) };
}

describe('archive round trip', () => {
  it('archives exactly the pre-delete rows and restores them byte-identical', async () => {
    const [c] = await sql`insert into conversations (user_id, title, metadata) values (${owner.id}, 'Ünïcödé title 🚀', ${sql.json({ tags: ['a', 'b'], deep: { x: { y: [] } } })}) returning id`;
    const id = c!.id as string;
    for (const m of ODD_MESSAGES) {
      await sql`insert into messages ${sql({ conversation_id: id, user_id: owner.id, model: null, tokens: null, duration_ms: null, feedback: null, ...m, metadata: sql.json(m.metadata as never) } as never)}`;
    }
    const before = await rowsOf(id);
    expect(before.messages).toHaveLength(ODD_MESSAGES.length);

    // Deleted the way supabase-js does it: as the owner, under RLS.
    await asActor(sql, { kind: 'user', id: owner.id }, (tx) => tx`delete from conversations where id = ${id}`);
    await waitForArchived(sql, [id]);

    const [index] = await sql`select * from archived_conversations where conversation_id = ${id}`;
    expect(index).toMatchObject({ status: 'stored', message_count: ODD_MESSAGES.length, format_version: 1, title: 'Ünïcödé title 🚀' });
    expect(index!.s3_key).toMatch(new RegExp(`^archived_conversations/${owner.id}/${id}/[0-9a-f-]{36}\\.json\\.gz$`));
    expect(await sql`select 1 from messages where conversation_id = ${id}`).toHaveLength(0);

    // The object: gzipped JSON, its sha256 in the index and in its metadata.
    const { s3, bucket } = directS3();
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: index!.s3_key }));
    const gz = await object.Body!.transformToByteArray();
    const json = gunzipSync(gz);
    expect(object.ContentType).toBe('application/json');
    expect(object.ContentEncoding).toBe('gzip');
    expect(Number(index!.bytes)).toBe(gz.length);
    expect(createHash('sha256').update(json).digest('hex')).toBe(index!.sha256);
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: index!.s3_key }));
    expect(head.Metadata).toMatchObject({ sha256: index!.sha256, 'message-count': String(ODD_MESSAGES.length), 'format-version': '1', 'conversation-id': id, 'user-id': owner.id });

    const document = JSON.parse(json.toString('utf8'));
    expect(document.format_version).toBe(1);
    const { deleted_at, ...archivedConversation } = document.conversation;
    const { deleted_at: wasNull, ...liveConversation } = JSON.parse(before.conversation!);
    expect(wasNull).toBeNull();
    expect(deleted_at).not.toBeNull();
    expect(archivedConversation).toEqual(liveConversation);
    expect(document.messages).toEqual(before.messages.map((m) => JSON.parse(m)));
    expect(document.archive_metadata).toMatchObject({ message_count: ODD_MESSAGES.length, user_id: owner.id, user_email: owner.email });

    // The API returns the same verified document.
    const token = tokenFor(owner);
    const fetched = await api(`/archive/conversations/${id}`, { token });
    expect(fetched.status).toBe(200);
    expect(fetched.body).toEqual(document);

    const restored = await api(`/archive/conversations/${id}/restore`, { token, method: 'POST' });
    expect(restored.status, restored.text).toBe(200);
    expect(restored.body).toEqual({ conversation_id: id, message_count: ODD_MESSAGES.length, restored: true });
    const after = await rowsOf(id);
    expect(after.conversation).toBe(before.conversation);
    expect(after.messages).toEqual(before.messages);
    // The index row is gone with the restore, so a later delete archives afresh.
    expect(await sql`select 1 from archived_conversations where conversation_id = ${id}`).toHaveLength(0);
    const listed = await api('/archive/conversations', { token });
    expect(listed.body.archives.map((a: { conversation_id: string }) => a.conversation_id)).not.toContain(id);
  });

  it('archives a restored conversation again, with what was added after the restore', async () => {
    const [c] = await sql`insert into conversations (user_id, title) values (${owner.id}, 'twice') returning id`;
    const id = c!.id as string;
    await sql`insert into messages (conversation_id, user_id, role, content) values (${id}, ${owner.id}, 'user', 'first')`;
    await sql`delete from conversations where id = ${id}`;
    await waitForArchived(sql, [id]);
    const token = tokenFor(owner);
    expect((await api(`/archive/conversations/${id}/restore`, { token, method: 'POST' })).status).toBe(200);
    await sql`insert into messages (conversation_id, user_id, role, content) values (${id}, ${owner.id}, 'user', 'second')`;
    await sql`delete from conversations where id = ${id}`;
    await waitForArchived(sql, [id]);
    const fetched = await api(`/archive/conversations/${id}`, { token });
    expect(fetched.body.messages.map((m: { content: string }) => m.content)).toEqual(['first', 'second']);
  });
});
