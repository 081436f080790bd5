// A conversation in the archive JSON format (format_version 1), read as the
// user; run it in a repeatable-read transaction for one consistent snapshot.
import type { Tx } from '../db/as-user.ts';
import { writeDocument } from '../archive/document.ts';
import type { SnapshotReader } from '../archive/snapshot.ts';

export async function exportConversation(tx: Tx, conversationId: string, userEmail: string | null): Promise<string | null> {
  const [head] = await tx<{ conversation: string; user_id: string; title: string | null; created_at: string; message_count: number }[]>`
    select to_jsonb(c)::text as conversation, c.user_id, c.title, to_jsonb(c) ->> 'created_at' as created_at,
           (select count(*)::int from public.messages m where m.conversation_id = c.id) as message_count
      from public.conversations c where c.id = ${conversationId}`;
  if (!head) return null;
  const readMessages: SnapshotReader = async (onMessages) => {
    await tx`select to_jsonb(m)::text as j from public.messages m where m.conversation_id = ${conversationId} order by m.created_at, m.id`
      .cursor(500, async (rows) => {
        await onMessages(rows.map((row) => row.j as string));
      });
  };
  const chunks: Uint8Array[] = [];
  await writeDocument(
    { conversationJson: head.conversation, userId: head.user_id, userEmail, title: head.title, createdAt: head.created_at, deletedAt: null, messageCount: head.message_count, estimatedBytes: 0 },
    readMessages,
    new Date().toISOString(),
    (chunk) => void chunks.push(chunk),
  );
  const decoder = new TextDecoder();
  return chunks.map((chunk) => decoder.decode(chunk, { stream: true })).join('') + decoder.decode();
}
