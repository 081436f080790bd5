// A conversation too large for one worker invocation's CPU budget is archived
// across several: each uploads parts while its budget allows, saves its
// progress in the job and gives the job back; the next wake-up continues.
// The result is one object (its parts are gzip members of one stream) whose
// sha256 — hashed across the invocations — matches the JSON.
import { AbortMultipartUploadCommand, GetObjectCommand, HeadObjectCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { archiveHeldHere, deleteHeld, runLocalWorker, waitForArchived } from '../helpers/archive.ts';
import { connect, createUser, type Sql } from '../helpers/db.ts';
import { directS3 } from '../helpers/s3.ts';

let sql: Sql;
beforeAll(() => {
  sql = connect();
});
afterAll(() => sql.end());

// About 12 MB of JSON that gzip cannot shrink much (hex digests): at least two 5 MiB parts.
const MESSAGES = 22_000;
// A lease long enough for a part on a loaded machine (the tests' default is 4 s).
const env = { ARCHIVE_STREAM_ABOVE_BYTES: String(1024 * 1024), ARCHIVE_PART_BYTES: String(5 * 1024 * 1024), ARCHIVE_LEASE_SECONDS: '120' };

/** A conversation of MESSAGES messages, deleted and held for a worker of the test's own. */
async function heldLongConversation(name: string) {
  const owner = await createUser(sql, name);
  const [{ id }] = await sql`insert into conversations (user_id, title) values (${owner.id}, ${name}) returning id`;
  await sql`
    insert into messages (conversation_id, user_id, role, content, created_at)
    select ${id}, ${owner.id}, 'user',
           (select string_agg(md5(n::text || ':' || k), '') from generate_series(1, 14) k),
           now() + n * interval '1 microsecond'
      from generate_series(1, ${MESSAGES}) n`;
  await deleteHeld(sql, [id]);
  return { owner, id: id as string };
}

describe('an archive larger than one invocation', () => {
  it('is uploaded part by part over several invocations, resumed from the job, and verifies', async () => {
    const { owner, id } = await heldLongConversation('multi-invocation');
    const messages = MESSAGES;
    // The first invocation, here, with a budget for about one part: it uploads,
    // saves its progress in the job and gives the job back.
    const first = await archiveHeldHere(sql, id, env, { cpuMs: 350 });
    expect(first).toEqual({ outcome: 'yielded', upload: 'multipart' });
    const [saved] = await sql`select status, attempts, run_after <= now() as due, payload -> 'multipart' as progress
                                from private.jobs where subject_id = ${id}`;
    expect(saved).toMatchObject({ status: 'pending', attempts: 0, due: true });
    expect(saved!.progress.parts.length).toBeGreaterThanOrEqual(1);
    expect(saved!.progress.written).toBeGreaterThan(0);
    expect(saved!.progress.written).toBeLessThan(messages);

    // Later invocations (here, or the stack's own worker woken meanwhile) continue from there.
    for (let i = 0; i < 20 && (await sql`select 1 from conversations where id = ${id}`).length > 0; i++) {
      await runLocalWorker(env, { cpuMs: 350 });
    }
    await waitForArchived(sql, [id], 60_000);
    const [job] = await sql`select status, payload -> 'multipart' as progress from private.jobs where subject_id = ${id} and kind = 'archive_conversation'`;
    expect(job!.status).toBe('done');
    expect(job!.progress.parts.length).toBeGreaterThanOrEqual(2);
    expect(job!.progress.completed).toBe(true);

    const [index] = await sql`select s3_key, sha256, message_count, bytes from archived_conversations where conversation_id = ${id}`;
    const { s3, bucket } = directS3();
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: index!.s3_key }));
    expect(head.Metadata?.sha256).toBe(index!.sha256);
    expect(Number(head.ContentLength)).toBe(Number(index!.bytes));
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: index!.s3_key }));
    const json = gunzipSync(await object.Body!.transformToByteArray());
    expect(createHash('sha256').update(json).digest('hex')).toBe(index!.sha256);
    const document = JSON.parse(json.toString('utf8'));
    expect(document.messages).toHaveLength(messages);
    expect(index!.message_count).toBe(messages);
    expect(document.messages[0].content).toHaveLength(14 * 32);
    expect(new Set(document.messages.map((m: { id: string }) => m.id)).size).toBe(messages);
    expect(document.archive_metadata).toMatchObject({ message_count: messages, user_id: owner.id });
  });

  it('starts its upload again when the upload was aborted between invocations (the bucket rule for incomplete uploads)', async () => {
    const { owner, id } = await heldLongConversation('multi-aborted');
    const messages = MESSAGES;
    expect(await archiveHeldHere(sql, id, env, { cpuMs: 350 })).toEqual({ outcome: 'yielded', upload: 'multipart' });
    const [{ progress, generation }] = await sql`
      select payload -> 'multipart' as progress, payload ->> 'generation' as generation
        from private.jobs where subject_id = ${id} and kind = 'archive_conversation'`;
    const key = `archived_conversations/${owner.id}/${id}/${generation}.json.gz`;

    // The bucket's lifecycle rule (or an operator) aborts the incomplete upload: its parts are gone.
    const { s3, bucket } = directS3();
    await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: progress.upload_id }));
    const gone = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: progress.upload_id, PartNumber: 9, Body: 'x' })).catch((e) => e);
    expect(gone.name).toBe('NoSuchUpload');

    for (let i = 0; i < 20 && (await sql`select 1 from conversations where id = ${id}`).length > 0; i++) {
      await runLocalWorker(env, { cpuMs: 350 });
    }
    await waitForArchived(sql, [id], 60_000);
    const [job] = await sql`select status, attempts, payload -> 'multipart' as progress from private.jobs where subject_id = ${id} and kind = 'archive_conversation'`;
    expect(job).toMatchObject({ status: 'done' });
    expect(job!.progress.upload_id).not.toBe(progress.upload_id);
    const [index] = await sql`select s3_key, sha256 from archived_conversations where conversation_id = ${id}`;
    expect(index!.s3_key).toBe(key);
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const json = gunzipSync(await object.Body!.transformToByteArray());
    expect(createHash('sha256').update(json).digest('hex')).toBe(index!.sha256);
    const document = JSON.parse(json.toString('utf8'));
    expect(document.messages).toHaveLength(messages);
    expect(new Set(document.messages.map((m: { id: string }) => m.id)).size).toBe(messages);
  });
});
