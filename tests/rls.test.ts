// The RLS matrix: actor × table × operation → allowed or denied, run against
// the real database as PostgREST runs a supabase-js call (role and
// request.jwt.claims set in a transaction). "Allowed" means the statement
// succeeded and touched the target row; "denied" means it failed or touched
// nothing. Every case is rolled back, so the fixture never changes.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asActor, connect, createUser, tryAsActor, type Actor, type Sql, type Tx } from './helpers/db.ts';

type ActorName = 'anon' | 'owner' | 'other' | 'service_role';
type Operation = 'select' | 'insert' | 'update' | 'delete';
type Table = 'conversations' | 'messages' | 'files' | 'analyses' | 'archived_conversations';

const SHA = 'a'.repeat(64);
let sql: Sql;
let owner: { id: string; email: string };
let other: { id: string; email: string };
const ids = { conversation: '', message: '', file: '', analysis: '', archive: '' };

beforeAll(async () => {
  sql = connect();
  owner = await createUser(sql, 'owner');
  other = await createUser(sql, 'other');
  const [c] = await sql`insert into conversations (user_id, title) values (${owner.id}, 'owned') returning id`;
  ids.conversation = c!.id;
  const [m] = await sql`insert into messages (conversation_id, user_id, role, content) values (${ids.conversation}, ${owner.id}, 'user', 'hello') returning id`;
  ids.message = m!.id;
  ids.file = randomUUID();
  await sql`insert into files (id, user_id, name, original_name, size, content_type, s3_key)
            values (${ids.file}, ${owner.id}, 'a.pdf', 'a.pdf', 10, 'application/pdf', ${`files/${owner.id}/${ids.file}/a.pdf`})`;
  ids.analysis = randomUUID();
  await sql`insert into analyses (id, user_id, kind, s3_key, size, sha256)
            values (${ids.analysis}, ${owner.id}, 'analysis', ${`analysis/2026/11/${owner.id}/${ids.analysis}.json`}, 2, ${SHA})`;
  ids.archive = randomUUID();
  await sql`insert into archived_conversations (conversation_id, user_id, created_at) values (${ids.archive}, ${owner.id}, now())`;
});

afterAll(async () => {
  await sql`delete from auth.users where id in (${owner.id}, ${other.id})`;
  await sql.end();
});

function actor(name: ActorName): Actor {
  if (name === 'anon') return { kind: 'anon' };
  if (name === 'service_role') return { kind: 'service_role' };
  const user = name === 'owner' ? owner : other;
  return { kind: 'user', id: user.id, email: user.email };
}

// Conversations, files and analyses are deleted S3-first: a permitted DELETE
// marks the row (deleted_at) and queues a job; the row goes later. So a
// delete is "allowed" when the actor's statement marked the row, checked
// after switching back to the superuser inside the same transaction.
async function gatedDelete(tx: Tx, table: 'conversations' | 'files' | 'analyses', id: string): Promise<number> {
  await tx`delete from ${tx(table)} where id = ${id}`;
  await tx`select set_config('role', 'postgres', true)`;
  return (await tx`select 1 from ${tx(table)} where id = ${id} and deleted_at is not null`).length;
}

// Each operation targets the owner's row; an insert is allowed when it created a row of the owner.
const isService = async (tx: Tx) => (await tx`select current_setting('role') as role`)[0]!.role === 'service_role';
const ownerRows = (rows: Array<{ user_id: string }>) => rows.filter((row) => row.user_id === owner.id).length;

const operations: Record<Table, Record<Operation, (tx: Tx) => Promise<number>>> = {
  conversations: {
    select: async (tx) => (await tx`select id from conversations where id = ${ids.conversation}`).length,
    // Users cannot name an owner (user_id is auth.uid()); the service role names the owner.
    insert: async (tx) => ownerRows(await ((await isService(tx))
      ? tx`insert into conversations (user_id, title) values (${owner.id}, 'new') returning user_id`
      : tx`insert into conversations (title) values ('new') returning user_id`)),
    update: async (tx) => (await tx`update conversations set title = 'renamed' where id = ${ids.conversation}`).count,
    delete: (tx) => gatedDelete(tx, 'conversations', ids.conversation),
  },
  messages: {
    select: async (tx) => (await tx`select id from messages where id = ${ids.message}`).length,
    insert: async (tx) => ownerRows(await ((await isService(tx))
      ? tx`insert into messages (conversation_id, user_id, role, content) values (${ids.conversation}, ${owner.id}, 'assistant', 'hi') returning user_id`
      : tx`insert into messages (conversation_id, role, content) values (${ids.conversation}, 'assistant', 'hi') returning user_id`)),
    update: async (tx) => (await tx`update messages set feedback = 'positive' where id = ${ids.message}`).count,
    delete: async (tx) => (await tx`delete from messages where id = ${ids.message}`).count,
  },
  files: {
    select: async (tx) => (await tx`select id from files where id = ${ids.file}`).length,
    insert: async (tx) => {
      const id = randomUUID();
      return (await tx`insert into files (id, user_id, name, original_name, size, content_type, s3_key)
                       values (${id}, ${owner.id}, 'b.txt', 'b.txt', 1, 'text/plain', ${`files/${owner.id}/${id}/b.txt`})`).count;
    },
    update: async (tx) => (await tx`update files set name = 'renamed.pdf' where id = ${ids.file}`).count,
    delete: (tx) => gatedDelete(tx, 'files', ids.file),
  },
  analyses: {
    select: async (tx) => (await tx`select id from analyses where id = ${ids.analysis}`).length,
    insert: async (tx) => {
      const id = randomUUID();
      return (await tx`insert into analyses (id, user_id, kind, s3_key, size, sha256)
                       values (${id}, ${owner.id}, 'transcript', ${`analysis/2026/11/${owner.id}/${id}.json`}, 2, ${SHA})`).count;
    },
    // Documents are immutable for users; only the server updates status.
    update: async (tx) => (await tx`update analyses set status = 'stored' where id = ${ids.analysis}`).count,
    delete: (tx) => gatedDelete(tx, 'analyses', ids.analysis),
  },
  // The archive index is the server's: owners read it; restore and permanent
  // delete go through their security definer functions (tests/archive).
  archived_conversations: {
    select: async (tx) => (await tx`select 1 from archived_conversations where conversation_id = ${ids.archive}`).length,
    insert: async (tx) => (await tx`insert into archived_conversations (conversation_id, user_id, created_at) values (${randomUUID()}, ${owner.id}, now())`).count,
    update: async (tx) => (await tx`update archived_conversations set title = 'x' where conversation_id = ${ids.archive}`).count,
    delete: async (tx) => (await tx`delete from archived_conversations where conversation_id = ${ids.archive}`).count,
  },
};

const ALL: Operation[] = ['select', 'insert', 'update', 'delete'];
const expected: Record<Table, Record<ActorName, Operation[]>> = {
  conversations: { anon: [], owner: ALL, other: [], service_role: ALL },
  messages: { anon: [], owner: ALL, other: [], service_role: ALL },
  // File rows and analyses are written by the server only (after it checked
  // the upload or stored the document); owners read, rename files and delete.
  files: { anon: [], owner: ['select', 'update', 'delete'], other: [], service_role: ALL },
  analyses: { anon: [], owner: ['select', 'delete'], other: [], service_role: ALL },
  archived_conversations: { anon: [], owner: ['select'], other: [], service_role: ALL },
};

const cases = (Object.keys(expected) as Table[]).flatMap((table) =>
  (['anon', 'owner', 'other', 'service_role'] as ActorName[]).flatMap((who) =>
    ALL.map((operation) => ({
      table,
      who,
      operation,
      outcome: expected[table][who].includes(operation) ? 'allowed' : 'denied',
    })),
  ),
);

describe('RLS matrix', () => {
  it.each(cases)('$who $operation on $table → $outcome', async ({ table, who, operation, outcome }) => {
    const result = await tryAsActor(sql, actor(who), operations[table][operation]);
    const actual = result.ok && result.value > 0 ? 'allowed' : 'denied';
    expect(actual, JSON.stringify(result)).toBe(outcome);
    if (!result.ok) {
      // Denials are privilege or policy errors (or not-found from our triggers), never something else.
      expect(['42501', 'P0002']).toContain(result.code);
    }
  });
});

describe('row visibility rules', () => {
  it('hides a conversation pending archive, and its messages, from its owner', async () => {
    const [c] = await sql`insert into conversations (user_id, title, deleted_at) values (${owner.id}, 'gone', now()) returning id`;
    const visible = await asActor(sql, actor('owner'), async (tx) => ({
      conversations: (await tx`select id from conversations where id = ${c!.id}`).length,
    }));
    expect(visible.conversations).toBe(0);
    const service = await asActor(sql, actor('service_role'), async (tx) => (await tx`select id from conversations where id = ${c!.id}`).length);
    expect(service).toBe(1);
  });

  it('hides an expired conversation and its messages from its owner before any sweep', async () => {
    const [c] = await sql`insert into conversations (user_id, title) values (${owner.id}, 'short-lived') returning id`;
    await sql`insert into messages (conversation_id, user_id, role, content) values (${c!.id}, ${owner.id}, 'user', 'x')`;
    await sql`update conversations set expires_at = now() - interval '1 second' where id = ${c!.id}`;
    const seen = await asActor(sql, actor('owner'), async (tx) => ({
      conversations: (await tx`select id from conversations where id = ${c!.id}`).length,
      messages: (await tx`select id from messages where conversation_id = ${c!.id}`).length,
    }));
    expect(seen).toEqual({ conversations: 0, messages: 0 });
  });

  it.each(['owner', 'service_role'] as const)('refuses a new message in a deleted conversation (%s)', async (who) => {
    const [c] = await sql`insert into conversations (user_id, title, deleted_at) values (${owner.id}, 'closed', now()) returning id`;
    const result = await tryAsActor(sql, actor(who), async (tx) =>
      (who === 'owner'
        ? await tx`insert into messages (conversation_id, role, content) values (${c!.id}, 'user', 'late')`
        : await tx`insert into messages (conversation_id, user_id, role, content) values (${c!.id}, ${owner.id}, 'user', 'late')`).count,
    );
    expect(result).toMatchObject({ ok: false, code: 'P0002' });
  });

  it('does not let a user write server-owned columns', async () => {
    const result = await tryAsActor(sql, actor('owner'), async (tx) =>
      (await tx`update conversations set deleted_at = now() where id = ${ids.conversation}`).count,
    );
    expect(result).toMatchObject({ ok: false, code: '42501' });
    const status = await tryAsActor(sql, actor('owner'), async (tx) =>
      (await tx`update files set status = 'processed' where id = ${ids.file}`).count,
    );
    expect(status).toMatchObject({ ok: false, code: '42501' });
  });

  it("refuses an S3 key outside the owner's prefix, whoever writes it", async () => {
    const id = randomUUID();
    const result = await tryAsActor(sql, actor('service_role'), async (tx) =>
      (await tx`insert into files (id, user_id, name, original_name, size, content_type, s3_key)
                values (${id}, ${owner.id}, 'x', 'x', 1, 'text/plain', ${`files/${other.id}/${id}/x`})`).count,
    );
    expect(result).toMatchObject({ ok: false, code: '23514' });
  });

  it('keeps a message with its conversation owner', async () => {
    const result = await tryAsActor(sql, actor('service_role'), async (tx) =>
      (await tx`insert into messages (conversation_id, user_id, role, content) values (${ids.conversation}, ${other.id}, 'user', 'x')`).count,
    );
    expect(result.ok).toBe(false);
  });

  it('refreshes the conversation updated_at when a message is added', async () => {
    const [c] = await sql`insert into conversations (user_id, title, updated_at) values (${owner.id}, 't', now() - interval '1 hour') returning id, updated_at`;
    await asActor(sql, actor('owner'), (tx) => tx`insert into messages (conversation_id, role, content) values (${c!.id}, 'user', 'ping')`);
    const [after] = await sql`select updated_at from conversations where id = ${c!.id}`;
    expect(new Date(after!.updated_at).getTime()).toBeGreaterThan(new Date(c!.updated_at).getTime());
  });
});
