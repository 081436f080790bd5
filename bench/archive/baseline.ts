// The seeds' baseline, reimplemented faithfully in Node: archiving happens in
// the request path of every delete. Per delete:
//   1. read the conversation and its messages;
//   2. PUT archived_conversations/{user_id}/{conversation_id}.json (plain JSON);
//   3. GET the user's archived_conversations/{user_id}/metadata.json (404 → empty);
//   4. add an entry and PUT metadata.json back (a read-modify-write: two
//      concurrent deletes of the same user race, and one entry is lost);
//   5. delete the rows (messages cascade).
// s3rver is not S3 here: it replaces an object by truncating and rewriting
// its file in place, so a GET that overlaps a PUT of the same key can read a
// half-written file, and two overlapping PUTs can leave a torn one (the last
// writer's document followed by the tail of a longer one). Real S3 only ever
// returns a whole object (last writer wins). readIndex restores that: a torn
// file is read as its leading complete document (the last writer's), and a
// half-written one is read again. These repairs are counted (s3rverRepairs).
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

export const s3rverRepairs = { tornReads: 0, rereads: 0 };

/** The leading complete JSON document of `text`, or null when there is none (a half-written file). */
function leadingDocument(text: string): BaselineIndex | null {
  try {
    return JSON.parse(text) as BaselineIndex;
  } catch {
    // Torn: try each end of the top-level object in turn.
    for (let end = text.indexOf(']}'); end !== -1; end = text.indexOf(']}', end + 1)) {
      try {
        const document = JSON.parse(text.slice(0, end + 2)) as BaselineIndex;
        s3rverRepairs.tornReads++;
        return document;
      } catch {
        // not this one
      }
    }
    return null;
  }
}

export async function readIndex(s3: S3Client, bucket: string, userId: string): Promise<BaselineIndex | null> {
  const key = indexKey(userId);
  for (let attempt = 0; attempt < 20; attempt++) {
    let text: string | null = null;
    try {
      const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      text = await object.Body!.transformToString('utf8');
    } catch (error) {
      if (statusOf(error) === 404 || (error as { name?: string }).name === 'NoSuchKey') return null;
      // s3rver cuts the response short when the file shrank under it (a PUT in progress).
      if ((error as Error).message !== 'aborted' && (error as { code?: string }).code !== 'ECONNRESET') throw error;
    }
    const document = text === null ? null : leadingDocument(text);
    if (document) return document;
    s3rverRepairs.rereads++;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`${key} stayed unreadable (half-written) after 20 reads`);
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
    await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: indexKey(userId), Body: JSON.stringify(index), ContentType: 'application/json' }),
    );

    // 5. Delete the rows (past Strata's gate, as a purge).
    await sql.begin(async (tx) => {
      await tx`select private.open_gate('delete_conversation', null)`;
      await tx`delete from public.conversations where id = ${conversationId}`;
    });
  }

  return { deleteConversation };
}
