// The response bodies of the archive API and the archive document, declared
// once: api.ts checks its answers against them (`satisfies`) and the typed
// client (packages/client) exports them. Types only, on the generated
// database types.
import type { Tables } from '../database.types.ts';
import type { Conversation, Message } from '../conversations/api-types.ts';

/** An archive index row as the API lists it: without the storage internals. */
export type ArchivedConversation = Omit<Tables<'archived_conversations'>, 's3_key' | 'generation' | 'format_version' | 'user_id'>;

/** `GET /archive/conversations?limit=&cursor=`: stored and pending archives, most recently deleted first. */
export interface ArchivePage {
  archives: ArchivedConversation[];
  next_cursor: string | null;
}

/** The archive document, format_version 1 (`GET /archive/conversations/{id}`, `GET /conversations/{id}/export`). */
export interface ArchiveDocument {
  format_version: 1;
  conversation: Conversation;
  messages: Message[];
  archive_metadata: { archived_at: string; message_count: number; user_id: string; user_email: string | null };
}

/** `GET /archive/status`: the caller's archives (or, with the service role key, the project's jobs). */
export interface ArchiveStatus {
  scope: 'user' | 'project';
  enabled: boolean;
  bucket: string | null;
  prefix: string | null;
  counts: { pending: number; running: number; failed: number; archived: number };
  oldest_pending_seconds: number | null;
  last_error: string | null;
  /** Why archiving is off, when `enabled` is false. */
  reason?: string;
}

/** `POST /archive/conversations/{id}/restore` */
export interface ArchiveRestored {
  conversation_id: string;
  message_count: number;
  restored: true;
}

/** `DELETE /archive/conversations/{id}`: the object and the row go in a job. */
export interface ArchiveDeleteAccepted {
  conversation_id: string;
  deleted: true;
  status: string;
}
