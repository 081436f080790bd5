// Every way a conversation can be deleted goes through the archive.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedConversations, waitForArchived } from '../helpers/archive.ts';
import { asActor, connect, createUser, tryAsActor, type Sql } from '../helpers/db.ts';

let sql: Sql;
let owner: { id: string; email: string };
let other: { id: string; email: string };
beforeAll(async () => {
  sql = connect();
  owner = await createUser(sql, 'paths');
  other = await createUser(sql, 'paths-other');
});
afterAll(() => sql.end());

describe('delete paths', () => {
  it("the owner's RLS-scoped delete hides the conversation at once, closes it, and archives it", async () => {
    const [id] = await seedConversations(sql, owner.id, 1, 2);
    const me = { kind: 'user' as const, id: owner.id };
    await asActor(sql, me, (tx) => tx`delete from conversations where id = ${id!}`);

    const seen = await asActor(sql, me, async (tx) => (await tx`select id from conversations where id = ${id!}`).length);
    expect(seen).toBe(0);
    const refused = await tryAsActor(sql, me, (tx) => tx`insert into messages (conversation_id, role, content) values (${id!}, 'user', 'late')`);
    expect(refused).toMatchObject({ ok: false, code: 'P0002' });
    const [pending] = await asActor(sql, me, (tx) => tx`select status from archived_conversations where conversation_id = ${id!}`);
    expect(['pending', 'archiving', 'stored']).toContain(pending!.status);

    await waitForArchived(sql, [id!]);
  });

  it("another user's delete changes nothing", async () => {
    const [id] = await seedConversations(sql, owner.id, 1, 1);
    const result = await tryAsActor(sql, { kind: 'user', id: other.id }, async (tx) => (await tx`delete from conversations where id = ${id!}`).count);
    expect(result).toEqual({ ok: true, value: 0 });
    const [row] = await sql`select deleted_at from conversations where id = ${id!}`;
    expect(row!.deleted_at).toBeNull();
    expect(await sql`select 1 from private.jobs where subject_id = ${id!}`).toHaveLength(0);
    expect(await sql`select 1 from archived_conversations where conversation_id = ${id!}`).toHaveLength(0);
  });

  it('a bulk SQL delete of 1,000 conversations queues 1,000 jobs, sends one wake-up, and archives them all', async () => {
    const ids = await seedConversations(sql, owner.id, 1000, 2);
    const queued = await sql.begin(async (tx) => {
      const [{ before }] = await tx`select coalesce(max(id), 0) as before from net.http_request_queue`;
      const result = await tx`delete from conversations where id = any(${ids}::uuid[])`;
      const [{ requests }] = await tx`select count(*)::int as requests from net.http_request_queue where id > ${before}`;
      const [{ jobs }] = await tx`select count(*)::int as jobs from private.jobs where subject_id = any(${ids}::uuid[]) and status = 'pending'`;
      return { deletedNow: result.count, requests, jobs };
    });
    // The delete is deferred (0 rows now), one job per row, one HTTP call for the statement.
    expect(queued).toEqual({ deletedNow: 0, requests: 1, jobs: 1000 });
    await waitForArchived(sql, ids, 90_000);
    expect(await sql`select 1 from messages where conversation_id = any(${ids}::uuid[])`).toHaveLength(0);
  });

  it('a second delete of a pending conversation queues nothing more', async () => {
    const [id] = await seedConversations(sql, owner.id, 1, 1);
    await sql.begin(async (tx) => {
      await tx`delete from conversations where id = ${id!}`;
      await tx`delete from conversations where id = ${id!}`;
      const [{ n }] = await tx`select count(*)::int as n from private.jobs where subject_id = ${id!}`;
      expect(n).toBe(1);
    });
    await waitForArchived(sql, [id!]);
  });

  it('service-role SQL cannot change a conversation being archived, nor its messages', async () => {
    const [id] = await seedConversations(sql, owner.id, 1, 1);
    await sql.begin(async (tx) => {
      await tx`delete from conversations where id = ${id!}`;
      await tx`update private.jobs set run_after = now() + interval '1 hour' where subject_id = ${id!}`;
    });
    const error = await sql`insert into messages (conversation_id, user_id, role, content) values (${id!}, ${owner.id}, 'user', 'x')`.catch((e) => e);
    expect(error.code).toBe('P0002');
    // The conversation and its messages are frozen until archived.
    for (const statement of [
      sql`update conversations set title = 'changed' where id = ${id!}`,
      sql`update messages set content = 'changed' where conversation_id = ${id!}`,
      sql`delete from messages where conversation_id = ${id!}`,
    ]) {
      expect((await statement.catch((e) => e)).code).toBe('P0002');
    }
    await sql`update private.jobs set run_after = now() where subject_id = ${id!}`;
    await waitForArchived(sql, [id!]);
  });
});
