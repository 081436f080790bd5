// The archive document, format_version 1:
//   { "format_version": 1, "conversation": {...}, "messages": [...],
//     "archive_metadata": { archived_at, message_count, user_id, user_email } }
// Written as a stream of UTF-8 chunks so it never has to exist whole in memory.
import type { SnapshotHead, SnapshotReader } from './snapshot.ts';

export const ARCHIVE_FORMAT_VERSION = 1;

const encoder = new TextEncoder();

export async function writeDocument(
  head: SnapshotHead,
  readMessages: SnapshotReader,
  archivedAt: string,
  write: (chunk: Uint8Array) => Promise<void> | void,
): Promise<void> {
  await write(encoder.encode(`{"format_version":${ARCHIVE_FORMAT_VERSION},"conversation":${head.conversationJson},"messages":[`));
  let first = true;
  await readMessages(async (rows) => {
    if (rows.length === 0) return;
    const text = (first ? '' : ',') + rows.join(',');
    first = false;
    await write(encoder.encode(text));
  });
  const metadata = {
    archived_at: archivedAt,
    message_count: head.messageCount,
    user_id: head.userId,
    user_email: head.userEmail,
  };
  await write(encoder.encode(`],"archive_metadata":${JSON.stringify(metadata)}}`));
}

export interface ArchiveDocument {
  format_version: number;
  conversation: Record<string, unknown> & { id: string; user_id: string };
  messages: Array<Record<string, unknown>>;
  archive_metadata: { archived_at: string; message_count: number; user_id: string; user_email: string | null };
}
