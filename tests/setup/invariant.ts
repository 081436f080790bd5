// The invariant, checked after every test: every conversation ever created is
// either still in Postgres or archived in S3 with an index row whose sha256
// matches the object's. (Exempt: conversations of erased users, and archives
// their owner deleted on purpose, including those whose deletion is under way.)
import { afterAll, afterEach, expect } from 'vitest';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { connect } from '../helpers/db.ts';
import { directS3 } from '../helpers/s3.ts';

let sql: ReturnType<typeof connect> | null = null;

afterEach(async () => {
  sql ??= connect({ max: 1 });
  // Only conversations gone from Postgres whose archive was not checked yet.
  const rows = await sql<{ conversation_id: string; status: string | null; sha256: string | null; s3_key: string | null }[]>`
    select l.conversation_id, a.status, a.sha256, a.s3_key
      from private.test_ledger l
      left join public.archived_conversations a on a.conversation_id = l.conversation_id
     where not l.disposed
       and l.verified_sha256 is distinct from a.sha256
       and a.status is distinct from 'deleting'
       and not exists (select 1 from public.conversations c where c.id = l.conversation_id)
       and exists (select 1 from auth.users u where u.id = l.user_id)`;
  const { s3, bucket } = directS3();
  const lost: string[] = [];
  for (const row of rows) {
    if (row.status !== 'stored' || !row.sha256 || !row.s3_key) {
      lost.push(`${row.conversation_id}: gone from Postgres without a stored archive (${row.status ?? 'no index row'})`);
      continue;
    }
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: row.s3_key })).catch(() => null);
    if (head?.Metadata?.sha256 !== row.sha256) lost.push(`${row.conversation_id}: S3 object missing or sha256 differs`);
    else await sql`update private.test_ledger set verified_sha256 = ${row.sha256} where conversation_id = ${row.conversation_id}`;
  }
  expect(lost, 'conversations lost').toEqual([]);
});

afterAll(async () => {
  await sql?.end();
  sql = null;
});
