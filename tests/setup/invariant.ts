// The invariant, checked after every test: every conversation ever created is
// either still in Postgres or archived in S3 with an index row whose sha256
// matches the object's. (Exempt: conversations of erased users, and archives
// their owner deleted on purpose.)
import { afterAll, afterEach, expect } from 'vitest';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { connect } from '../helpers/db.ts';
import { directS3 } from '../helpers/s3.ts';

const verified = new Set<string>();
let sql: ReturnType<typeof connect> | null = null;

afterEach(async () => {
  sql ??= connect({ max: 1 });
  const rows = await sql<{ conversation_id: string; live: boolean; status: string | null; sha256: string | null; s3_key: string | null }[]>`
    select l.conversation_id,
           exists (select 1 from public.conversations c where c.id = l.conversation_id) as live,
           a.status, a.sha256, a.s3_key
      from private.test_ledger l
      left join public.archived_conversations a on a.conversation_id = l.conversation_id
     where not l.disposed
       and exists (select 1 from auth.users u where u.id = l.user_id)`;
  const { s3, bucket } = directS3();
  const lost: string[] = [];
  for (const row of rows) {
    if (row.live) continue;
    if (row.status !== 'stored' || !row.sha256 || !row.s3_key) {
      lost.push(`${row.conversation_id}: gone from Postgres without a stored archive (${row.status ?? 'no index row'})`);
      continue;
    }
    const tag = `${row.conversation_id}:${row.sha256}`;
    if (verified.has(tag)) continue;
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: row.s3_key })).catch(() => null);
    if (head?.Metadata?.sha256 !== row.sha256) lost.push(`${row.conversation_id}: S3 object missing or sha256 differs`);
    else verified.add(tag);
  }
  expect(lost, 'conversations lost').toEqual([]);
});

afterAll(async () => {
  await sql?.end();
  sql = null;
});
