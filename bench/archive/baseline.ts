// The seeds' baseline, reimplemented faithfully in Node: archiving happens in
// the request path of every delete. Per delete:
//   1. read the conversation and its messages;
//   2. PUT archived_conversations/{user_id}/{conversation_id}.json (plain JSON);
//   3. GET the user's archived_conversations/{user_id}/metadata.json (404 → empty);
//   4. add an entry and PUT metadata.json back (a read-modify-write: two
//      concurrent deletes of the same user race, and one entry is lost);
//   5. delete the rows (messages cascade).
// s3rver writes an object in place, so two overlapping PUTs of one key can
// leave a torn file (and a GET during a PUT reads half a file), which real S3
// never shows: each S3 request is atomic (last writer wins). To keep that
// semantics, each single GET or PUT of a metadata.json holds a per-key lock in
// this process; the read-modify-write as a whole is NOT locked, exactly as in
// the baseline, so concurrent deletes still lose index entries.
// The delete in step 5 has to get past Strata's archive-before-delete gate,
// so it sets strata.purge in the same transaction, as a purge does.
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type postgres from 'postgres';

export const BASELINE_PREFIX = 'baseline/archived_conversations';

export interface BaselineIndexEntry {
  conversation_id: string;
  title: string | null;
  message_count: number;
  archived_at: string;
  s3_key: string;
  bytes: number;
}

export interface BaselineIndex {
  user_id: string;
  conversations: BaselineIndexEntry[];
}

const indexKey = (userId: string) => `${BASELINE_PREFIX}/${userId}/metadata.json`;
const objectKey = (userId: string, conversationId: string) => `${BASELINE_PREFIX}/${userId}/${conversationId}.json`;

const statusOf = (error: unknown) => (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;

const keyLocks = new Map<string, Promise<unknown>>();

/** Runs one S3 request on `key` after the previous one on that key finished (S3's per-request atomicity). */
function atomically<T>(key: string, request: () => Promise<T>): Promise<T> {
  const previous = keyLocks.get(key) ?? Promise.resolve();
  const current = previous.catch(() => undefined).then(request);
  const settled = current.catch(() => undefined);
  keyLocks.set(key, settled);
  void settled.then(() => {
    if (keyLocks.get(key) === settled) keyLocks.delete(key);
  });
  return current;
}

export async function readIndex(s3: S3Client, bucket: string, userId: string): Promise<BaselineIndex | null> {
  const key = indexKey(userId);
  const text = await atomically(key, async () => {
    try {
      const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return await object.Body!.transformToString('utf8');
    } catch (error) {
      if (statusOf(error) === 404 || (error as { name?: string }).name === 'NoSuchKey') return null;
      throw error;
    }
  });
  return text === null ? null : (JSON.parse(text) as BaselineIndex);
}

export function createBaseline(deps: { sql: postgres.Sql; s3: S3Client; bucket: string }) {
  const { sql, s3, bucket } = deps;

  /** Archives and deletes one conversation in the request path; resolves when the caller would get its answer. */
  async function deleteConversation(conversationId: string): Promise<void> {
    // 1. Read the rows.
    const [conversation] = await sql`select * from public.conversations where id = ${conversationId}`;
    if (!conversation) throw new Error(`conversation ${conversationId} not found`);
    const messages = await sql`select * from public.messages where conversation_id = ${conversationId} order by created_at, id`;
    const userId = conversation.user_id as string;
    const archivedAt = new Date().toISOString();

    // 2. The conversation object.
    const body = JSON.stringify({ conversation, messages, archived_at: archivedAt });
    const key = objectKey(userId, conversationId);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/json' }));

    // 3.–4. The user's index: read, add, write back.
    const index = (await readIndex(s3, bucket, userId)) ?? { user_id: userId, conversations: [] };
    index.conversations.push({
      conversation_id: conversationId,
      title: (conversation.title as string | null) ?? null,
      message_count: messages.length,
      archived_at: archivedAt,
      s3_key: key,
      bytes: Buffer.byteLength(body),
    });
    await atomically(indexKey(userId), () =>
      s3.send(new PutObjectCommand({ Bucket: bucket, Key: indexKey(userId), Body: JSON.stringify(index), ContentType: 'application/json' })),
    );

    // 5. Delete the rows (past Strata's gate, as a purge).
    await sql.begin(async (tx) => {
      await tx`select set_config('strata.purge', 'on', true)`;
      await tx`delete from public.conversations where id = ${conversationId}`;
    });
  }

  return { deleteConversation };
}
