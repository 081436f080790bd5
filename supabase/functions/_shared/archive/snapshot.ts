// Reads a conversation and all its messages from one consistent snapshot
// (a repeatable-read, read-only transaction). Rows are serialised by Postgres
// itself (to_jsonb), so the archive holds exactly the stored values and a
// restore writes them back unchanged. Messages are streamed with a cursor so
// a conversation of any size is read in bounded memory.
import type postgres from 'postgres';
import type { Sql } from '../db/client.ts';

export interface SnapshotHead {
  conversationJson: string;
  userId: string;
  userEmail: string | null;
  title: string | null;
  createdAt: string;
  /** When deletion was asked for: the moment the conversation froze. */
  deletedAt: string | null;
  messageCount: number;
  /** Rough size of the messages' JSON, to choose buffered or streamed archiving. */
  estimatedBytes: number;
}

interface HeadRow {
  conversation: string;
  user_id: string;
  email: string | null;
  title: string | null;
  created_at: string;
  deleted_at: string | null;
  message_count: number;
  estimated_bytes: number | string;
}

const toHead = (row: HeadRow): SnapshotHead => ({
  conversationJson: row.conversation,
  userId: row.user_id,
  userEmail: row.email,
  title: row.title,
  createdAt: row.created_at,
  deletedAt: row.deleted_at,
  messageCount: row.message_count,
  estimatedBytes: Number(row.estimated_bytes),
});

export type SnapshotReader = (onMessages: (jsonRows: string[]) => Promise<void> | void) => Promise<void>;

/**
 * Opens the snapshot and hands it to `use`: the head (null when the
 * conversation is gone), and a reader that streams the messages in order. The
 * reader may be called more than once; each pass sees the same rows.
 */
export async function withSnapshot<T>(
  sql: Sql,
  conversationId: string,
  use: (head: SnapshotHead | null, readMessages: SnapshotReader) => Promise<T>,
): Promise<T> {
  return (await sql.begin('isolation level repeatable read read only', async (tx) => {
    // The head alone (a negative limit never inlines the messages), in this snapshot.
    const head = (await readSmallSnapshot(tx, conversationId, -1))?.head;
    if (!head) return use(null, async () => {});
    const readMessages: SnapshotReader = async (onMessages) => {
      await tx`
        select to_jsonb(m)::text as j from public.messages m
         where m.conversation_id = ${conversationId}
         order by m.created_at, m.id`.cursor(500, async (rows) => {
        await onMessages(rows.map((row) => row.j as string));
      });
    };
    return use(
      head,
      readMessages,
    );
  })) as T;
}

/**
 * The common case in one statement (one consistent snapshot, one round trip):
 * the head and, when the conversation is small, its messages already joined
 * into the document's array text. null messagesText means "too large: stream it".
 */
export async function readSmallSnapshot(
  sql: Sql | postgres.TransactionSql,
  conversationId: string,
  limitBytes: number,
): Promise<{ head: SnapshotHead; messagesText: string | null } | null> {
  const [row] = await sql<(HeadRow & { messages_text: string | null })[]>`
    select to_jsonb(c)::text as conversation, c.user_id, u.email, c.title,
           to_jsonb(c) ->> 'created_at' as created_at, to_jsonb(c) ->> 'deleted_at' as deleted_at,
           stats.message_count, stats.estimated_bytes,
           case when stats.estimated_bytes + octet_length(to_jsonb(c)::text) <= ${limitBytes} then
             coalesce((select string_agg(to_jsonb(m)::text, ',' order by m.created_at, m.id)
                         from public.messages m where m.conversation_id = c.id), '')
           end as messages_text
      from public.conversations c
      left join auth.users u on u.id = c.user_id
      cross join lateral (
        select count(*)::int as message_count,
               coalesce(sum(octet_length(m.content) + octet_length(m.metadata::text) + 400), 0)::bigint as estimated_bytes
          from public.messages m where m.conversation_id = c.id
      ) stats
     where c.id = ${conversationId}`;
  if (!row) return null;
  return {
    head: toHead(row),
    messagesText: row.messages_text,
  };
}
