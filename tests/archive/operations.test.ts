// Erasure of a user, rebuilding the index from S3 alone, large conversations
// in bounded memory, and a worker without S3 configuration.
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { listKeys } from '../../supabase/functions/_shared/s3/objects.ts';
import { api, archiveHeldHere, deleteHeld, release, runLocalWorker, seedConversations, tokenFor, waitForArchived, waitUntil } from '../helpers/archive.ts';
import { connect, createUser, type Sql } from '../helpers/db.ts';
import { directS3 } from '../helpers/s3.ts';

let sql: Sql;
beforeAll(() => {
  sql = connect({ max: 4 });
});
afterAll(() => sql.end());

function strata(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(process.execPath, ['bin/strata.mjs', ...args], { env: { ...process.env, STRATA_STATE_DIR: inject('stack').stateDir } }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

async function keysUnder(prefix: string): Promise<string[]> {
  const { s3, bucket } = directS3();
  const keys: string[] = [];
  for await (const object of listKeys(s3, bucket, prefix)) keys.push(object.key);
  return keys;
}

describe('user erasure', () => {
  it("deleting a user erases their rows without archiving and every object under their prefixes", async () => {
    const doomed = await createUser(sql, 'erased');
    const bystander = await createUser(sql, 'bystander');
    const archivedIds = await seedConversations(sql, doomed.id, 3, 2);
    await sql`delete from conversations where id = any(${archivedIds}::uuid[])`;
    await waitForArchived(sql, archivedIds);
    const live = await seedConversations(sql, doomed.id, 2, 2);
    const pending = await seedConversations(sql, doomed.id, 1, 1);
    await deleteHeld(sql, pending);
    const kept = await seedConversations(sql, bystander.id, 1, 1);
    await sql`delete from conversations where id = any(${kept}::uuid[])`;
    await waitForArchived(sql, kept);

    const { s3, bucket } = directS3();
    const planted = [`files/${doomed.id}/${crypto.randomUUID()}/cv.pdf`, `analysis/2026/11/${doomed.id}/${crypto.randomUUID()}.json`];
    const bystanderFile = `files/${bystander.id}/${crypto.randomUUID()}/keep.pdf`;
    for (const key of [...planted, bystanderFile]) await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'x' }));

    await sql`delete from auth.users where id = ${doomed.id}`;
    const everything = [...archivedIds, ...live, ...pending];
    expect(await sql`select 1 from conversations where id = any(${everything}::uuid[])`).toHaveLength(0);
    expect(await sql`select 1 from messages where user_id = ${doomed.id}`).toHaveLength(0);
    expect(await sql`select 1 from archived_conversations where user_id = ${doomed.id}`).toHaveLength(0);

    await waitUntil('the erasure job', async () => {
      const [job] = await sql`select status from private.jobs where kind = 'erase_user_objects' and subject_id = ${doomed.id}`;
      return job?.status === 'done';
    });
    expect(await keysUnder(`archived_conversations/${doomed.id}/`)).toEqual([]);
    expect(await keysUnder(`files/${doomed.id}/`)).toEqual([]);
    expect(await keysUnder(`analysis/2026/11/${doomed.id}/`)).toEqual([]);
    // The pending archive job of the erased user ends without writing anything.
    await waitUntil('the orphaned archive job', async () => {
      const [job] = await sql`select status from private.jobs where subject_id = ${pending[0]!}`;
      if (job?.status === 'pending') await sql`update private.jobs set run_after = now() where subject_id = ${pending[0]!}`;
      return job?.status === 'done';
    });
    expect(await keysUnder(`archived_conversations/${doomed.id}/`)).toEqual([]);
    expect(await keysUnder(`files/${bystander.id}/`)).toContain(bystanderFile);
    expect(await keysUnder(`archived_conversations/${bystander.id}/`)).toHaveLength(1);
  });
});

describe('rebuilding the index from S3', () => {
  it('restores lost index rows from object metadata alone and writes metadata.json on demand', async () => {
    const owner = await createUser(sql, 'rebuild');
    const ids = await seedConversations(sql, owner.id, 3, 2);
    await sql`delete from conversations where id = any(${ids}::uuid[])`;
    await waitForArchived(sql, ids);
    const before = await sql`select conversation_id, user_id, message_count, bytes, sha256, s3_key, status, format_version, title from archived_conversations where user_id = ${owner.id} order by conversation_id`;

    // Disaster: the index table loses this user's rows.
    await sql`delete from archived_conversations where user_id = ${owner.id}`;
    const result = await strata('archive', 'rebuild-index', '--metadata-json', '--json');
    const report = JSON.parse(result.stdout);
    expect(report.error, result.stdout).toBeUndefined();
    // Exit 1 only when some object is invalid, which none of this user's is.
    expect(result.code, JSON.stringify(report.invalid)).toBe(report.invalid.length > 0 ? 1 : 0);
    expect(report.invalid.filter((i: { key: string }) => i.key.includes(owner.id))).toEqual([]);
    expect(report.indexed).toBeGreaterThanOrEqual(3);
    const after = await sql`select conversation_id, user_id, message_count, bytes, sha256, s3_key, status, format_version, title from archived_conversations where user_id = ${owner.id} order by conversation_id`;
    expect(after).toEqual(before);

    const { s3, bucket } = directS3();
    const metadata = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: `archived_conversations/${owner.id}/metadata.json` }));
    const document = JSON.parse(await metadata.Body!.transformToString());
    expect(document).toMatchObject({ user_id: owner.id, conversation_count: 3 });
    expect(document.conversations.map((c: { conversation_id: string }) => c.conversation_id).sort()).toEqual([...ids].sort());

    // A second run changes nothing.
    const again = JSON.parse((await strata('archive', 'rebuild-index', '--json')).stdout);
    expect(again.indexed).toBe(0);
    // And the API serves the rebuilt archives.
    const fetched = await api(`/archive/conversations/${ids[0]}`, { token: tokenFor(owner) });
    expect(fetched.status).toBe(200);
  });
});

describe('large conversations', () => {
  it('streams a conversation larger than the buffer limit through a multipart upload, verifiably', async () => {
    const owner = await createUser(sql, 'large');
    const [id] = await seedConversations(sql, owner.id, 1, 0);
    // ~12 MB of JSON: 3,000 messages of 4 KB.
    await sql`insert into messages (conversation_id, user_id, role, content)
              select ${id!}, ${owner.id}, 'assistant', repeat(md5(n::text), 128) from generate_series(1, 3000) n`;
    await deleteHeld(sql, [id!]);
    const outcome = await archiveHeldHere(sql, id!, { ARCHIVE_STREAM_ABOVE_BYTES: '1048576', ARCHIVE_PART_BYTES: String(5 * 1024 * 1024) });
    expect(outcome).toEqual({ outcome: 'done', upload: 'multipart' });
    await waitForArchived(sql, [id!], 10_000);
    const [index] = await sql`select s3_key, sha256, message_count from archived_conversations where conversation_id = ${id!}`;
    const { s3, bucket } = directS3();
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: index!.s3_key }));
    const json = gunzipSync(await object.Body!.transformToByteArray());
    expect(createHash('sha256').update(json).digest('hex')).toBe(index!.sha256);
    const document = JSON.parse(json.toString('utf8'));
    expect(document.messages).toHaveLength(3000);
    expect(index!.message_count).toBe(3000);
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: index!.s3_key }));
    expect(head.Metadata?.sha256).toBe(index!.sha256);
  });
});

describe('without S3 configuration', () => {
  it('the worker leaves jobs waiting and deletes nothing', async () => {
    const owner = await createUser(sql, 'no-s3');
    const ids = await seedConversations(sql, owner.id, 2, 1);
    await deleteHeld(sql, ids);
    await release(sql, ids);
    const summary = await runLocalWorker({ S3_BUCKET_NAME: undefined });
    expect(summary).toMatchObject({ claimed: 0, done: 0, idle_reason: expect.stringContaining('S3_BUCKET_NAME') });
    expect(await sql`select 1 from conversations where id = any(${ids}::uuid[])`).toHaveLength(2);
    await waitForArchived(sql, ids);
  });
});
