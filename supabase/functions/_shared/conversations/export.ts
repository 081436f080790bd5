// A conversation in the archive JSON format (format_version 1), read as the
// user from one repeatable-read, read-only snapshot and streamed to the
// client: the messages are read with a cursor in batches of bounded size and
// each batch is written to the response as it comes, waiting while the
// client is behind, so memory stays bounded whatever the conversation's size
// (an Edge Function instance has 256 MB). The bytes are exactly those of
// writeDocument, the archive's own writer.
import { asUser, type Tx } from '../db/as-user.ts';
import type { Sql } from '../db/client.ts';
import { writeDocument } from '../archive/document.ts';
import type { SnapshotReader } from '../archive/snapshot.ts';

/** About this much message JSON is fetched (and held) per batch. */
const BATCH_BYTES = 2 * 1024 * 1024;
const MAX_BATCH_ROWS = 1000;
/** Room for a message's other columns and keys beyond its content and metadata. */
const ROW_OVERHEAD_BYTES = 512;
/** The response queue: the writer waits while this much is unread. */
const QUEUE_BYTES = 1024 * 1024;

/** Rows per fetch so that a batch of the conversation's largest message stays near BATCH_BYTES. */
export function batchRows(maxRowBytes: number): number {
  return Math.max(1, Math.min(MAX_BATCH_ROWS, Math.floor(BATCH_BYTES / (Math.max(0, maxRowBytes) + ROW_OVERHEAD_BYTES))));
}

class ExportCancelled extends Error {
  override readonly name = 'ExportCancelled' as const;
}

/** A ReadableStream fed by a writer that waits while the client is behind. */
function pushStream() {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let wake: (() => void) | null = null;
  let cancelled = false;
  const resume = () => {
    const waiting = wake;
    wake = null;
    waiting?.();
  };
  const stream = new ReadableStream<Uint8Array>(
    {
      start(c) {
        controller = c;
      },
      pull: resume,
      cancel() {
        cancelled = true;
        resume();
      },
    },
    new ByteLengthQueuingStrategy({ highWaterMark: QUEUE_BYTES }),
  );
  return {
    stream,
    async write(chunk: Uint8Array) {
      if (cancelled) throw new ExportCancelled('the client stopped reading the export');
      controller.enqueue(chunk);
      while (!cancelled && (controller.desiredSize ?? 1) <= 0) await new Promise<void>((resolve) => (wake = resolve));
      if (cancelled) throw new ExportCancelled('the client stopped reading the export');
    },
    close() {
      if (!cancelled) controller.close();
    },
    fail(error: unknown) {
      if (!cancelled) controller.error(error);
    },
  };
}

interface HeadRow {
  conversation: string;
  user_id: string;
  title: string | null;
  created_at: string;
  message_count: number;
  max_row_bytes: number;
}

const readHead = async (tx: Tx, conversationId: string) =>
  (await tx<HeadRow[]>`
    select to_jsonb(c)::text as conversation, c.user_id, c.title, to_jsonb(c) ->> 'created_at' as created_at,
           stats.message_count, stats.max_row_bytes
      from public.conversations c
     cross join lateral (
       select count(*)::int as message_count,
              coalesce(max(octet_length(m.content) + octet_length(m.metadata::text)), 0)::int as max_row_bytes
         from public.messages m where m.conversation_id = c.id
     ) stats
     where c.id = ${conversationId}`)[0];

/**
 * The export of the caller's conversation as a stream, or null when the
 * conversation is not visible to them (404). The snapshot's transaction stays
 * open while the stream is read and ends with it; a database error after the
 * first byte errors the stream (the client sees a broken transfer).
 */
export function exportConversation(
  sql: Sql,
  claims: Record<string, unknown>,
  conversationId: string,
  userEmail: string | null,
  log: (message: string) => void = console.error,
): Promise<ReadableStream<Uint8Array> | null> {
  return new Promise((resolve, reject) => {
    let out: ReturnType<typeof pushStream> | null = null;
    asUser(sql, claims, async (tx) => {
      const head = await readHead(tx, conversationId);
      if (!head) return resolve(null);
      out = pushStream();
      resolve(out.stream);
      const rows = batchRows(head.max_row_bytes);
      const readMessages: SnapshotReader = async (onMessages) => {
        await tx`select to_jsonb(m)::text as j from public.messages m where m.conversation_id = ${conversationId} order by m.created_at, m.id`
          .cursor(rows, async (batch) => {
            await onMessages(batch.map((row) => row.j as string));
          });
      };
      await writeDocument(
        { conversationJson: head.conversation, userId: head.user_id, userEmail, title: head.title, createdAt: head.created_at, deletedAt: null, messageCount: head.message_count, estimatedBytes: 0 },
        readMessages,
        new Date().toISOString(),
        out.write,
      );
      out.close();
    }, 'isolation level repeatable read read only').catch((error: unknown) => {
      if (!out) return reject(error);
      if (!(error instanceof ExportCancelled)) {
        log(`export of conversation ${conversationId} failed after the response started: ${error instanceof Error ? error.message : String(error)}`);
      }
      out.fail(error);
    });
  });
}
