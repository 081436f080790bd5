// The archive API: listing, reading, restoring and permanently deleting, with
// the denied paths and exact error codes.
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createArchiveHandler } from '../../supabase/functions/_shared/archive/api.ts';
import { api, deleteHeld, functionEnv, release, runLocalWorker, seedConversations, tokenFor, waitForArchived, waitUntil } from '../helpers/archive.ts';
import { control } from '../helpers/control.ts';
import { connect, createUser, tryAsActor, type Sql, type Tx } from '../helpers/db.ts';
import { directS3 } from '../helpers/s3.ts';

const stack = inject('stack');
let sql: Sql;
let owner: { id: string; email: string };
let other: { id: string; email: string };
let archived: string[];
let token: string;

beforeAll(async () => {
  sql = connect();
  owner = await createUser(sql, 'api');
  other = await createUser(sql, 'api-other');
  token = tokenFor(owner);
  archived = await seedConversations(sql, owner.id, 5, 2);
  for (const id of archived) await sql`delete from conversations where id = ${id}`;
  await waitForArchived(sql, archived);
});
afterAll(() => sql.end());

describe('GET /archive/conversations', () => {
  it('lists the caller’s archives newest first, paginated with a cursor', async () => {
    const first = await api('/archive/conversations?limit=2', { token });
    expect(first.status).toBe(200);
    expect(first.body.archives).toHaveLength(2);
    expect(first.body.next_cursor).toEqual(expect.any(String));
    const seen = [...first.body.archives];
    let cursor = first.body.next_cursor;
    while (cursor) {
      const page = await api(`/archive/conversations?limit=2&cursor=${encodeURIComponent(cursor)}`, { token });
      expect(page.status).toBe(200);
      seen.push(...page.body.archives);
      cursor = page.body.next_cursor;
    }
    expect(seen.map((a) => a.conversation_id).sort(), JSON.stringify(seen.map((a) => [a.conversation_id, a.deleted_at]))).toEqual([...archived].sort());
    const times = seen.map((a) => Date.parse(a.deleted_at));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect(seen[0]).toMatchObject({ status: 'stored', message_count: 2, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(seen[0]).not.toHaveProperty('s3_key');
  });

  it('includes pending archives with their state', async () => {
    const [id] = await seedConversations(sql, owner.id, 1, 1);
    await deleteHeld(sql, [id!]);
    const listed = await api('/archive/conversations?limit=100', { token });
    expect(listed.body.archives.find((a: { conversation_id: string }) => a.conversation_id === id)).toMatchObject({ status: 'pending', archived_at: null });
    const early = await api(`/archive/conversations/${id}`, { token });
    expect(early.status).toBe(409);
    expect(early.body.error.code).toBe('archive_not_ready');
    await release(sql, [id!]);
    await waitForArchived(sql, [id!]);
  });

  it('shows another user nothing', async () => {
    const listed = await api('/archive/conversations', { token: tokenFor(other) });
    expect(listed.body).toEqual({ archives: [], next_cursor: null });
  });

  it.each([
    ['limit=0', 'invalid_request'],
    ['limit=abc', 'invalid_request'],
    ['limit=1000', 'invalid_request'],
    ['cursor=garbage', 'invalid_request'],
    ['unknown=1', 'invalid_request'],
  ])('answers 400 to ?%s', async (query, code) => {
    const result = await api(`/archive/conversations?${query}`, { token });
    expect(result.status).toBe(400);
    expect(result.body.error.code).toBe(code);
  });
});

describe('one archive', () => {
  it.each([
    ['GET', ''],
    ['POST', '/restore'],
    ['DELETE', ''],
  ])("%s%s answers 404 for another user's archive and 400 for an invalid id", async (method, suffix) => {
    const foreign = await api(`/archive/conversations/${archived[0]}${suffix}`, { token: tokenFor(other), method });
    expect(foreign.status).toBe(404);
    expect(foreign.body.error.code).toBe('not_found');
    const invalid = await api(`/archive/conversations/not-a-uuid${suffix}`, { token, method });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.code).toBe('invalid_id');
  });

  it('needs a user token: none is 401 at the gateway, the anon key is 401 at the function', async () => {
    expect((await api(`/archive/conversations/${archived[0]}`)).status).toBe(401);
    const anon = await api(`/archive/conversations/${archived[0]}`, { token: stack.anonKey });
    expect(anon.status).toBe(401);
    expect(anon.body.error.code).toBe('unauthorized');
  });

  it('answers 404 to unknown paths and 405 to wrong methods', async () => {
    expect((await api('/archive/nothing-here', { token })).status).toBe(404);
    const wrong = await api('/archive/conversations', { token, method: 'PUT' });
    expect(wrong.status).toBe(405);
    expect(wrong.body.error.code).toBe('method_not_allowed');
  });

  it('keeps an archived id for its archive: a new conversation may not take it', async () => {
    const error = await sql`insert into conversations (id, user_id, title) values (${archived[1]!}, ${owner.id}, 'squatter')`.catch((e) => e);
    expect(error.code).toBe('23505');
  });

  it('refuses to restore over an existing conversation (409) and writes nothing', async () => {
    const id = archived[1]!;
    // Only possible by going around the triggers; restore must still refuse.
    await sql.begin(async (tx) => {
      await tx`set local session_replication_role = replica`;
      await tx`insert into conversations (id, user_id, title) values (${id}, ${owner.id}, 'squatter')`;
    });
    const result = await api(`/archive/conversations/${id}/restore`, { token, method: 'POST' });
    expect(result.status).toBe(409);
    expect(result.body.error.code).toBe('conflict');
    expect(await sql`select 1 from messages where conversation_id = ${id}`).toHaveLength(0);
    expect((await sql`select status from archived_conversations where conversation_id = ${id}`)[0]!.status).toBe('stored');
    await sql.begin(async (tx) => {
      await tx`set local session_replication_role = replica`;
      await tx`delete from conversations where id = ${id}`;
    });
  });

  it('refuses a corrupted object on read and on restore, and writes nothing', async () => {
    const id = archived[2]!;
    const [row] = await sql`select s3_key, sha256 from archived_conversations where conversation_id = ${id}`;
    const { s3, bucket } = directS3();
    const original = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: row!.s3_key }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: row!.s3_key, Body: gzipSync('{"format_version":1,"conversation":{},"messages":[]}'), Metadata: original.Metadata }));
    const read = await api(`/archive/conversations/${id}`, { token });
    expect(read.status).toBe(422);
    expect(read.body.error.code).toBe('archive_corrupt');
    const restore = await api(`/archive/conversations/${id}/restore`, { token, method: 'POST' });
    expect(restore.status).toBe(422);
    expect(await sql`select 1 from conversations where id = ${id}`).toHaveLength(0);
    expect((await sql`select sha256 from archived_conversations where conversation_id = ${id}`)[0]!.sha256).toBe(row!.sha256);
  });

  it('refuses to restore when the object is missing', async () => {
    const id = archived[3]!;
    const [row] = await sql`select s3_key from archived_conversations where conversation_id = ${id}`;
    const { s3, bucket } = directS3();
    const saved = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: row!.s3_key }));
    expect(saved.Metadata?.sha256).toBeDefined();
    // Keep the invariant honest: this test removes the object, so put it back afterwards.
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: row!.s3_key }));
    const bytes = await object.Body!.transformToByteArray();
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: row!.s3_key }));
    const restore = await api(`/archive/conversations/${id}/restore`, { token, method: 'POST' });
    expect(restore.status).toBe(422);
    expect(await sql`select 1 from conversations where id = ${id}`).toHaveLength(0);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: row!.s3_key, Body: bytes, Metadata: saved.Metadata, ContentEncoding: 'gzip', ContentType: 'application/json' }));
  });

  it('deletes permanently: gone from the caller at once, the object first, then the index row; S3 down delays it', async () => {
    const id = archived[4]!;
    const [row] = await sql`select s3_key from archived_conversations where conversation_id = ${id}`;
    const { s3, bucket } = directS3();
    await control.stopS3();
    try {
      const deleted = await api(`/archive/conversations/${id}`, { token, method: 'DELETE' });
      expect(deleted.status).toBe(200);
      expect(deleted.body).toEqual({ conversation_id: id, deleted: true, status: 'deleting' });
      // Gone for the owner at once, while the job waits for S3.
      expect((await api(`/archive/conversations/${id}`, { token })).status).toBe(404);
      expect((await api(`/archive/conversations/${id}/restore`, { token, method: 'POST' })).status).toBe(404);
      expect((await api(`/archive/conversations/${id}`, { token, method: 'DELETE' })).status).toBe(404);
      await runLocalWorker();
      expect(await sql`select status from archived_conversations where conversation_id = ${id}`).toEqual([{ status: 'deleting' }]);
    } finally {
      await control.startS3();
    }
    expect((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: row!.s3_key }))).$metadata.httpStatusCode).toBe(200);
    await sql`update private.jobs set run_after = now() where kind = 'delete_archive_object' and status = 'pending'`;
    // This worker, or the stack's own (woken by the sweep), finishes the job.
    await waitUntil('the permanent delete to finish', async () => {
      await runLocalWorker();
      return (await sql`select 1 from archived_conversations where conversation_id = ${id}`).length === 0;
    });
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: row!.s3_key })).catch((e) => e);
    expect(head.$metadata?.httpStatusCode).toBe(404);
  });

  it('does not let a client delete or change an index row directly (the object would be orphaned)', async () => {
    const [id] = await seedConversations(sql, owner.id, 1, 1);
    await sql`delete from conversations where id = ${id!}`;
    await waitForArchived(sql, [id!]);
    for (const statement of [
      (tx: Tx) => tx`delete from archived_conversations where conversation_id = ${id!}`,
      (tx: Tx) => tx`update archived_conversations set status = 'deleting' where conversation_id = ${id!}`,
    ]) {
      const result = await tryAsActor(sql, { kind: 'user', id: owner.id }, async (tx) => {
        // The old escape hatch: a transaction setting any session can set.
        await tx`select set_config('strata.archive_api', 'on', true)`;
        return (await statement(tx)).count;
      });
      expect(result).toMatchObject({ ok: false, code: '42501' });
    }
    expect(await sql`select status from archived_conversations where conversation_id = ${id!}`).toEqual([{ status: 'stored' }]);
  });
});

describe('GET /archive/status', () => {
  it("gives a user their own counts and the service role the project's", async () => {
    const mine = await api('/archive/status', { token });
    expect(mine.status).toBe(200);
    expect(mine.body).toMatchObject({ scope: 'user', enabled: true, bucket: stack.s3Bucket, counts: { pending: 0, running: 0, failed: 0, archived: expect.any(Number) } });
    expect(mine.body.counts.archived).toBeGreaterThanOrEqual(4);
    const project = await api('/archive/status', { token: stack.serviceRoleKey });
    expect(project.body).toMatchObject({ scope: 'project', enabled: true, counts: { archived: expect.any(Number) } });
    expect(project.body.counts.archived).toBeGreaterThanOrEqual(mine.body.counts.archived);
  });

  it('says why archiving is off when S3 is not configured', async () => {
    const handler = createArchiveHandler(functionEnv({ S3_BUCKET_NAME: undefined, AWS_ACCESS_KEY_ID: undefined }));
    const response = await handler(new Request('http://x/archive/status', { headers: { authorization: `Bearer ${token}` } }));
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ enabled: false, reason: expect.stringContaining('S3_BUCKET_NAME') });
  });
});
