// Races of the archive API, run for many rounds against the real stack:
// a restore racing a re-delete of the same conversation (over HTTP and in
// SQL) must never lose the new archive, and a permanent delete racing a
// restore has exactly one winner whose answer matches the final state.
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, runLocalWorker, seedConversations, tokenFor, waitForArchived, waitUntil } from '../helpers/archive.ts';
import { asActor, connect, createUser, type Sql } from '../helpers/db.ts';
import { directS3 } from '../helpers/s3.ts';

let sql: Sql;
let owner: { id: string; email: string };
let token: string;
beforeAll(async () => {
  sql = connect();
  owner = await createUser(sql, 'races');
  token = tokenFor(owner);
});
afterAll(() => sql.end());

async function archivedConversation(): Promise<{ id: string; key: string }> {
  const [id] = await seedConversations(sql, owner.id, 1, 3);
  await sql`delete from conversations where id = ${id!}`;
  await waitForArchived(sql, [id!]);
  const [row] = await sql`select s3_key from archived_conversations where conversation_id = ${id!}`;
  return { id: id!, key: row!.s3_key };
}

async function objectExists(key: string): Promise<boolean> {
  const { s3, bucket } = directS3();
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).catch((error) => error);
  if (head.$metadata?.httpStatusCode === 404) return false;
  if (head.$metadata?.httpStatusCode !== 200) throw head;
  return true;
}

/** No delete_archive_object job left to run: every object a restore or delete gave up is gone. */
async function drainDeletes(): Promise<void> {
  await waitUntil('object deletions', async () => {
    await runLocalWorker();
    const [row] = await sql`select count(*)::int as n from private.jobs where kind = 'delete_archive_object' and status in ('pending', 'running')`;
    return row!.n === 0;
  });
}

/** Retries `attempt` every few milliseconds until it reports success (or gives up after `ms`). */
async function retryUntil(ms: number, attempt: () => Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await attempt()) return true;
    await new Promise((resolve) => setTimeout(resolve, 3));
  }
  return false;
}

/** After a round: the conversation is stored (index row, object present, sha256 matching); the old generation is gone. */
async function expectNewArchiveIntact(id: string, oldKey: string): Promise<'lost' | 'ok'> {
  await waitForArchived(sql, [id]);
  await drainDeletes();
  const [row] = await sql`select status, s3_key, sha256 from archived_conversations where conversation_id = ${id}`;
  const { s3, bucket } = directS3();
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: row!.s3_key })).catch(() => null);
  expect(row!.s3_key).not.toBe(oldKey);
  expect(await objectExists(oldKey)).toBe(false);
  return row!.status === 'stored' && head?.Metadata?.sha256 === row!.sha256 ? 'ok' : 'lost';
}

describe('restore racing a re-delete of the same conversation', () => {
  it('loses nothing over HTTP: the restore only ever deletes its own generation (15 rounds)', async () => {
    const outcomes: string[] = [];
    for (let round = 0; round < 15; round++) {
      const { id, key } = await archivedConversation();
      const restore = api(`/archive/conversations/${id}/restore`, { token, method: 'POST' });
      // A second client deletes the conversation the moment it is back.
      const redeleted = await retryUntil(10_000, async () => (await api(`/conversations/${id}`, { token, method: 'DELETE' })).status === 202);
      expect((await restore).status).toBe(200);
      expect(redeleted).toBe(true);
      outcomes.push(await expectNewArchiveIntact(id, key));
    }
    expect(outcomes.filter((o) => o === 'lost')).toHaveLength(0);
  });

  it('loses nothing when the re-deletes are SQL through the Data API (15 rounds)', async () => {
    const outcomes: string[] = [];
    const user = { kind: 'user' as const, id: owner.id, email: owner.email };
    for (let round = 0; round < 15; round++) {
      const { id, key } = await archivedConversation();
      const restore = api(`/archive/conversations/${id}/restore`, { token, method: 'POST' });
      const redeleted = await retryUntil(10_000, () =>
        asActor(sql, user, async (tx) => {
          const visible = await tx`select 1 from conversations where id = ${id}`;
          if (visible.length === 0) return false;
          await tx`delete from conversations where id = ${id}`;
          return true;
        }),
      );
      expect((await restore).status).toBe(200);
      expect(redeleted).toBe(true);
      outcomes.push(await expectNewArchiveIntact(id, key));
    }
    expect(outcomes.filter((o) => o === 'lost')).toHaveLength(0);
  });

  it('a lost-lease worker that finishes after the restore leaves no object behind', async () => {
    const { id, key } = await archivedConversation();
    const generation = key.split('/').pop()!.replace('.json.gz', '');
    expect((await api(`/archive/conversations/${id}/restore`, { token, method: 'POST' })).status).toBe(200);
    await drainDeletes();
    expect(await objectExists(key)).toBe(false);
    // A worker whose lease had expired writes its copy of that generation late...
    const { s3, bucket } = directS3();
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'late copy' }));
    // ...and then fails to complete: SQL sees no index row for the generation and queues the deletion of exactly that key.
    const [late] = await sql`select private.complete_archive(-1, 'late-worker', ${id}, ${sql.json({ generation, s3_key: key, user_id: owner.id })}) as completed`;
    expect(late!.completed).toBe(false);
    const jobs = await sql`select distinct payload ->> 's3_key' as key from private.jobs where kind = 'delete_archive_object' and subject_id = ${generation}`;
    expect(jobs.map((j) => j.key)).toEqual([key]);
    await drainDeletes();
    expect(await objectExists(key)).toBe(false);
    expect(await sql`select 1 from conversations where id = ${id}`).toHaveLength(1);
  });
});

describe('erasure racing an archive in flight', () => {
  it('an archive completed after its owner was erased is not kept: its object is queued for deletion', async () => {
    const victim = await createUser(sql, 'races-erased');
    const [id] = await seedConversations(sql, victim.id, 1, 2);
    await sql.begin(async (tx) => {
      await tx`delete from conversations where id = ${id!}`;
      await tx`update private.jobs set run_after = now() + interval '1 hour' where subject_id = ${id!}`;
    });
    const [job] = await sql`
      update private.jobs j set status = 'running', attempts = 1, locked_by = 'slow-worker', lease_until = now() + interval '5 minutes'
       where kind = 'archive_conversation' and subject_id = ${id!}
      returning id, (select a.generation from archived_conversations a where a.conversation_id = j.subject_id) as generation`;
    const key = `archived_conversations/${victim.id}/${id}/${job!.generation}.json.gz`;
    // The user is erased while the worker uploads; its PutObject lands after the erasure listed the folder.
    await sql`delete from auth.users where id = ${victim.id}`;
    const { s3, bucket } = directS3();
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'late archive' }));
    const [done] = await sql`select private.complete_archive(${job!.id}, 'slow-worker', ${id!}, ${sql.json({ generation: job!.generation, s3_key: key, user_id: victim.id })}) as completed`;
    expect(done!.completed).toBe(false);
    expect(await sql`select status from private.jobs where id = ${job!.id}`).toEqual([{ status: 'done' }]);
    await drainDeletes();
    expect(await objectExists(key)).toBe(false);
  });
});

describe('permanent delete racing a restore', () => {
  it('has exactly one winner, and the state matches both answers (12 rounds)', async () => {
    const winners: string[] = [];
    for (let round = 0; round < 12; round++) {
      const { id, key } = await archivedConversation();
      const [restore, remove] = await Promise.all([
        api(`/archive/conversations/${id}/restore`, { token, method: 'POST' }),
        api(`/archive/conversations/${id}`, { token, method: 'DELETE' }),
      ]);
      const ok = [restore.status, remove.status].filter((s) => s === 200);
      expect(ok, `restore ${restore.status} ${restore.text} / delete ${remove.status} ${remove.text}`).toHaveLength(1);
      expect([restore.status, remove.status].filter((s) => s !== 200)).toEqual([404]);
      await drainDeletes();
      const live = (await sql`select 1 from conversations where id = ${id}`).length === 1;
      const index = await sql`select status from archived_conversations where conversation_id = ${id}`;
      if (restore.status === 200) {
        winners.push('restore');
        expect({ live, index: index.length }).toEqual({ live: true, index: 0 });
      } else {
        winners.push('delete');
        expect({ live, index: index.length }).toEqual({ live: false, index: 0 });
      }
      // Either way the restored or deleted generation's object is gone.
      expect(await objectExists(key)).toBe(false);
    }
    expect(winners).toHaveLength(12);
  });
});
