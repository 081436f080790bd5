// The shapes the Strata functions answer with, built on the generated
// database types so that a schema change shows up here.
import type { Database, Json } from './database.types.js';

type Tables = Database['public']['Tables'];
export type Conversation = Tables['conversations']['Row'];
export type Message = Tables['messages']['Row'];
export type FileRow = Tables['files']['Row'];
export type Analysis = Tables['analyses']['Row'];
export type ArchivedConversation = Omit<Tables['archived_conversations']['Row'], 's3_key' | 'generation'>;

export type MessageRole = 'user' | 'assistant' | 'system' | 'tool';
export type Feedback = 'positive' | 'negative';
export type FileStatus = 'pending_upload' | 'uploaded' | 'processing' | 'processed' | 'failed';

export interface NewConversation {
  title?: string | null;
  metadata?: { [key: string]: Json | undefined };
  ttl_hours?: number | null;
}

export interface NewMessage {
  role: MessageRole;
  content: string;
  metadata?: { [key: string]: Json | undefined };
  feedback?: Feedback | null;
  model?: string | null;
  tokens?: number | null;
  duration_ms?: number | null;
}

export interface ConversationStats {
  scope: 'user' | 'project';
  /** Live (not expired) conversations. */
  conversations: number;
  /** Messages of the live conversations. */
  messages: number;
  /** Expired conversations the sweep has not handled yet. */
  expired_conversations: number;
  default_ttl_hours: number | null;
  expiry_policy: 'archive' | 'delete';
  /** The seed's name for `conversations` (same value). */
  total_conversations: number;
  /** The seed's name for `messages` (same value). */
  total_messages: number;
  /** The seed's name for `default_ttl_hours` (same value). */
  ttl_hours: number | null;
}

export interface ArchiveDocument {
  format_version: 1;
  conversation: Conversation;
  messages: Message[];
  archive_metadata: { archived_at: string; message_count: number; user_id: string; user_email: string | null };
}

export interface ArchiveStatus {
  scope: 'user' | 'project';
  enabled: boolean;
  bucket: string | null;
  counts: { pending: number; running: number; failed: number; archived: number };
  oldest_pending_seconds: number | null;
  last_error: string | null;
  reason?: string;
}

export interface UploadTicket {
  file: FileRow;
  upload: { method: 'PUT'; url: string; headers: Record<string, string>; expires_at: string };
}
