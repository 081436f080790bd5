// Data API parity: every rule the functions enforce also holds when a
// signed-in user writes the tables directly, as supabase-js `.from()` /
// `.rpc()` does through PostgREST (role authenticated, request.jwt.claims set
// in a transaction). Each write is refused with a clear error and changes
// nothing; the session settings that once opened the delete gates open
// nothing; and another user's ids answer exactly like unused ones.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asActor, connect, createUser, tryAsActor, type Actor, type Sql, type Tx } from './helpers/db.ts';

let sql: Sql;
let me: { id: string; email: string };
let other: { id: string; email: string };
const ids = { conversation: '', message: '', pendingFile: '', otherConversation: '', otherArchived: '', otherMessage: '' };
const user = (): Actor => ({ kind: 'user', id: me.id, email: me.email });
const SHA = 'b'.repeat(64);

beforeAll(async () => {
  sql = connect();
  me = await createUser(sql, 'parity');
  other = await createUser(sql, 'parity-other');
  [{ id: ids.conversation }] = await sql`insert into conversations (user_id, title) values (${me.id}, 'mine') returning id`;
  [{ id: ids.message }] = await sql`insert into messages (conversation_id, user_id, role, content) values (${ids.conversation}, ${me.id}, 'user', 'hi') returning id`;
  ids.pendingFile = randomUUID();
  await sql`insert into files (id, user_id, name, original_name, size, content_type, s3_key)
            values (${ids.pendingFile}, ${me.id}, 'a.pdf', 'a.pdf', 10, 'application/pdf', ${`files/${me.id}/${ids.pendingFile}/a.pdf`})`;
  [{ id: ids.otherConversation }] = await sql`insert into conversations (user_id, title) values (${other.id}, 'theirs') returning id`;
  [{ id: ids.otherMessage }] = await sql`insert into messages (conversation_id, user_id, role, content) values (${ids.otherConversation}, ${other.id}, 'user', 'x') returning id`;
  ids.otherArchived = randomUUID();
  await sql`insert into archived_conversations (conversation_id, user_id, created_at) values (${ids.otherArchived}, ${other.id}, now())`;
});

afterAll(async () => {
  await sql`delete from auth.users where id in (${me.id}, ${other.id})`;
  await sql.end();
});

const deep = (levels: number): unknown => {
  let value: unknown = {};
  for (let i = 1; i < levels; i++) value = { a: value };
  return value;
};
const fileRow = (tx: Tx, owner: string, fields: { size?: number; type?: string; key?: (id: string) => string } = {}) => {
  const id = randomUUID();
  const key = fields.key ? fields.key(id) : `files/${owner}/${id}/x.txt`;
  return tx`insert into files (id, user_id, name, original_name, size, content_type, s3_key)
            values (${id}, ${owner}, 'x.txt', 'x.txt', ${fields.size ?? 1}, ${fields.type ?? 'text/plain'}, ${key})`;
};

// rule, who writes, the write, the SQLSTATE it must be refused with.
const refused: Array<[string, 'user' | 'service_role', (tx: Tx) => Promise<unknown>, string]> = [
  ['only the server marks a file uploaded (skipping the size, sha256 and type checks)', 'user',
    (tx) => tx`update files set status = 'uploaded' where id = ${ids.pendingFile}`, '42501'],
  ['only the server marks a file failed or processed', 'user',
    (tx) => tx`update files set status = 'failed', error = 'x' where id = ${ids.pendingFile}`, '42501'],
  ['users do not insert file rows (no object, no checks)', 'user', (tx) => fileRow(tx, me.id), '42501'],
  ['a file of 50 GB is over the size cap, whoever writes it', 'service_role', (tx) => fileRow(tx, me.id, { size: 50 * 1024 ** 3 }), 'SA004'],
  ['a content type outside the accepted list is refused', 'service_role', (tx) => fileRow(tx, me.id, { type: 'image/png' }), 'SA007'],
  ["a file key may not lead into another user's folder", 'service_role',
    (tx) => fileRow(tx, me.id, { key: (id) => `files/${other.id}/x/files/${me.id}/${id}/a.txt` }), '23514'],
  ['a file key is only the owner\'s folder and a safe name', 'service_role',
    (tx) => fileRow(tx, me.id, { key: (id) => `files/${me.id}/${id}/../a.txt` }), '23514'],
  ['users do not insert analysis rows', 'user',
    (tx) => tx`insert into analyses (user_id, kind, s3_key, size, sha256) values (${me.id}, 'analysis', ${`analysis/2026/11/${me.id}/${randomUUID()}.json`}, 2, ${SHA})`, '42501'],
  ["an analysis may not name another user's conversation", 'service_role', (tx) => {
    const id = randomUUID();
    return tx`insert into analyses (id, user_id, conversation_id, kind, s3_key, size, sha256)
              values (${id}, ${me.id}, ${ids.otherConversation}, 'analysis', ${`analysis/2026/11/${me.id}/${id}.json`}, 2, ${SHA})`;
  }, 'P0002'],
  ['expires_at may not be infinity', 'user', (tx) => tx`update conversations set expires_at = 'infinity' where id = ${ids.conversation}`, 'SA003'],
  ['expires_at may not be in year 200000', 'user', (tx) => tx`update conversations set expires_at = '200000-01-01' where id = ${ids.conversation}`, 'SA003'],
  ['a new conversation may not live past the TTL cap', 'user',
    (tx) => tx`insert into conversations (title, expires_at) values ('x', now() + interval '10 years')`, 'SA003'],
  ['a title is at most 500 characters', 'user', (tx) => tx`update conversations set title = ${'t'.repeat(501)} where id = ${ids.conversation}`, '22001'],
  ['conversation metadata is at most 64 KiB', 'user',
    (tx) => tx`update conversations set metadata = ${tx.json({ big: 'x'.repeat(70_000) })} where id = ${ids.conversation}`, 'SA004'],
  ['conversation metadata nests at most 32 levels', 'user',
    (tx) => tx`update conversations set metadata = ${tx.json(deep(33) as never)} where id = ${ids.conversation}`, 'SA005'],
  ['a model name is at most 200 characters', 'user',
    (tx) => tx`insert into messages (conversation_id, role, model) values (${ids.conversation}, 'user', ${'m'.repeat(201)})`, '23514'],
  ['message content is at most 1 MiB', 'user',
    (tx) => tx`insert into messages (conversation_id, role, content) values (${ids.conversation}, 'user', ${'x'.repeat(1024 * 1024 + 1)})`, 'SA004'],
  ['message metadata is at most 64 KiB', 'user',
    (tx) => tx`insert into messages (conversation_id, role, metadata) values (${ids.conversation}, 'user', ${tx.json({ big: 'x'.repeat(70_000) })})`, 'SA004'],
  ['message metadata nests at most 32 levels', 'user',
    (tx) => tx`insert into messages (conversation_id, role, metadata) values (${ids.conversation}, 'user', ${tx.json(deep(33) as never)})`, 'SA005'],
  ['users do not write the archive index', 'user',
    (tx) => tx`insert into archived_conversations (conversation_id, user_id, created_at) values (${randomUUID()}, ${me.id}, now())`, '42501'],
  ['users do not delete archive index rows (the object would be orphaned)', 'user',
    (tx) => tx`delete from archived_conversations where conversation_id = ${ids.otherArchived}`, '42501'],
  ['users do not read the job queue', 'user', (tx) => tx`select * from private.jobs`, '42501'],
  ['users cannot open a delete gate', 'user', (tx) => tx`select private.open_gate('delete_conversation', null)`, '42501'],
];

describe('Data API parity: the same rules for a user writing the tables directly', () => {
  it.each(refused)('%s', async (_rule, who, write, code) => {
    const actor: Actor = who === 'user' ? user() : { kind: 'service_role' };
    const result = await tryAsActor(sql, actor, write);
    expect(result).toMatchObject({ ok: false, code });
    if (!result.ok) expect(result.message.length).toBeGreaterThan(10);
  });

  it('limits hold at the boundary: exactly the limit is accepted', async () => {
    const result = await tryAsActor(sql, user(), async (tx) => {
      await tx`update conversations set metadata = ${tx.json(deep(32) as never)}, title = ${'t'.repeat(500)},
                                       expires_at = now() + interval '8759 hours' where id = ${ids.conversation}`;
      return (await tx`insert into messages (conversation_id, role, content, metadata)
                       values (${ids.conversation}, 'user', ${'x'.repeat(1024 * 1024)}, ${tx.json(deep(32) as never)})`).count;
    });
    expect(result).toEqual({ ok: true, value: 1 });
  });

  it('a refused write changes nothing', async () => {
    const before = await sql`select status, updated_at from files where id = ${ids.pendingFile}`;
    await tryAsActor(sql, user(), (tx) => tx`update files set status = 'uploaded' where id = ${ids.pendingFile}`);
    expect(await sql`select status, updated_at from files where id = ${ids.pendingFile}`).toEqual(before);
    expect(await sql`select 1 from private.jobs where subject_id = ${ids.pendingFile}`).toHaveLength(0);
  });
});

describe('the delete gates trust nothing a session can set', () => {
  const forged = [
    ['strata.purge', 'on'],
    ['strata.completing_archive', ''],
    ['strata.erasing_user', ''],
  ] as const;

  it.each(forged)('%s does not delete a conversation without its archive', async (name, value) => {
    const [{ id }] = await sql`insert into conversations (user_id, title) values (${me.id}, 'keep me') returning id`;
    const setting = value || (name === 'strata.erasing_user' ? me.id : id);
    await asActor(sql, user(), async (tx) => {
      await tx`select set_config(${name}, ${setting}, true)`;
      await tx`delete from conversations where id = ${id}`;
    });
    // Still in Postgres, pending archive, with its job: the gate did its usual work.
    const [row] = await sql`select deleted_at is not null as pending from conversations where id = ${id}`;
    expect(row).toEqual({ pending: true });
    expect(await sql`select status from private.jobs where kind = 'archive_conversation' and subject_id = ${id}`).toHaveLength(1);
  });

  it('strata.completing_delete does not delete a file row before its object', async () => {
    const id = randomUUID();
    await sql`insert into files (id, user_id, name, original_name, size, content_type, s3_key)
              values (${id}, ${me.id}, 'k.txt', 'k.txt', 1, 'text/plain', ${`files/${me.id}/${id}/k.txt`})`;
    await asActor(sql, user(), async (tx) => {
      await tx`select set_config('strata.completing_delete', ${id}, true)`;
      await tx`delete from files where id = ${id}`;
    });
    expect(await sql`select deleted_at is not null as deleting from files where id = ${id}`).toEqual([{ deleting: true }]);
  });

  it('pending archives stay frozen for every role, and messages of a live conversation stay editable by their owner', async () => {
    const [{ id }] = await sql`insert into conversations (user_id, title) values (${me.id}, 'frozen') returning id`;
    await sql`insert into messages (conversation_id, user_id, role, content) values (${id}, ${me.id}, 'user', 'm')`;
    await sql.begin(async (tx) => {
      await tx`delete from conversations where id = ${id}`;
      await tx`update private.jobs set run_after = now() + interval '1 hour' where subject_id = ${id}`;
    });
    const service = await tryAsActor(sql, { kind: 'service_role' }, (tx) => tx`update messages set content = 'changed' where conversation_id = ${id}`);
    expect(service).toMatchObject({ ok: false, code: 'P0002' });
    const owner = await tryAsActor(sql, user(), async (tx) => (await tx`update messages set feedback = 'positive' where id = ${ids.message}`).count);
    expect(owner).toEqual({ ok: true, value: 1 });
    await sql`update private.jobs set run_after = now() where subject_id = ${id}`;
  });
});

describe("another user's ids answer exactly like unused ones", () => {
  const probe = async (write: (tx: Tx) => Promise<unknown>) => {
    const result = await tryAsActor(sql, user(), write);
    return result.ok ? { ok: true } : { ok: false, code: result.code, message: result.message.replace(/[0-9a-f-]{36}/g, '<id>') };
  };

  it.each([
    ['a conversation with an explicit id', (id: string) => (tx: Tx) => tx`insert into conversations (id, title) values (${id}, 'x')`, () => ids.otherArchived],
    ['a conversation with a live id', (id: string) => (tx: Tx) => tx`insert into conversations (id, title) values (${id}, 'x')`, () => ids.otherConversation],
    ['a message with an explicit id', (id: string) => (tx: Tx) => tx`insert into messages (id, conversation_id, role) values (${id}, ${ids.conversation}, 'user')`, () => ids.otherMessage],
    ['a message in a conversation', (id: string) => (tx: Tx) => tx`insert into messages (conversation_id, role) values (${id}, 'user')`, () => ids.otherConversation],
    ["a message claiming the other user's conversation and id", (id: string) => (tx: Tx) =>
      tx`insert into messages (conversation_id, user_id, role, content) values (${id}, ${other.id}, 'user', ${'x'.repeat(1024 * 1024 + 1)})`, () => ids.otherConversation],
    ['a conversation claiming another owner', (id: string) => (tx: Tx) => tx`insert into conversations (user_id, title) values (${id}, 'x')`, () => other.id],
    ['an archive restore', (id: string) => (tx: Tx) => tx`select public.restore_archived_conversation(${JSON.stringify({ conversation: { id }, messages: [] })})`, () => ids.otherArchived],
    ['an archive delete', (id: string) => (tx: Tx) => tx`select public.delete_archived_conversation(${id})`, () => ids.otherArchived],
  ])('%s', async (_what, write, taken) => {
    const theirs = await probe(write(taken()));
    const unused = await probe(write(randomUUID()));
    expect(theirs.ok).toBe(false);
    expect(theirs).toEqual(unused);
  });
});

describe('per-user quota of pending uploads', () => {
  it('refuses the upload past the count and the declared-bytes quota, per user', async () => {
    const quota = await createUser(sql, 'quota');
    const [settings] = await sql`select max_pending_uploads, max_pending_upload_bytes from private.settings`;
    try {
      await sql`update private.settings set max_pending_uploads = 3, max_pending_upload_bytes = 100`;
      for (let i = 0; i < 3; i++) await fileRow(sql as unknown as Tx, quota.id, { size: 10 });
      const count = await tryAsActor(sql, { kind: 'service_role' }, (tx) => fileRow(tx, quota.id, { size: 10 }));
      expect(count).toMatchObject({ ok: false, code: 'SA006' });
      // Another user is unaffected; declared bytes count too.
      expect(await tryAsActor(sql, { kind: 'service_role' }, async (tx) => (await fileRow(tx, me.id, { size: 10 })).count)).toEqual({ ok: true, value: 1 });
      expect(await tryAsActor(sql, { kind: 'service_role' }, (tx) => fileRow(tx, me.id, { size: 101 }))).toMatchObject({ ok: false, code: 'SA006' });
    } finally {
      await sql`update private.settings set max_pending_uploads = ${settings!.max_pending_uploads}, max_pending_upload_bytes = ${settings!.max_pending_upload_bytes}`;
      await sql`delete from auth.users where id = ${quota.id}`;
    }
  });
});
