// The request and response bodies of the conversations API, declared once:
// api.ts checks each answer against them (`satisfies`), schemas.ts checks its
// schemas accept the request types, and the typed client (packages/client)
// exports them. Types only, built on the generated database types, so that a
// schema change shows up in the functions and the client alike.
import type { Json, Tables } from '../database.types.ts';

/** A conversation row as the API answers it (to_jsonb of the row). */
export type Conversation = Tables<'conversations'>;
/** A message row as the API answers it (to_jsonb of the row). */
export type Message = Tables<'messages'>;
export type ConversationWithCount = Conversation & { message_count: number };

export type MessageRole = 'user' | 'assistant' | 'system' | 'tool';
export type Feedback = 'positive' | 'negative';

/** `POST /conversations` */
export interface NewConversation {
  title?: string | null;
  metadata?: { [key: string]: Json | undefined };
  ttl_hours?: number | null;
}

/** `POST /conversations/{id}/messages` */
export interface NewMessage {
  role: MessageRole;
  content: string;
  metadata?: { [key: string]: Json | undefined };
  feedback?: Feedback | null;
  model?: string | null;
  tokens?: number | null;
  duration_ms?: number | null;
}

/** 201 to `POST /conversations` */
export interface ConversationCreated {
  conversation: ConversationWithCount;
}

/** `GET /conversations?limit=&cursor=` */
export interface ConversationPage {
  conversations: ConversationWithCount[];
  next_cursor: string | null;
}

/** `GET /conversations/{id}?limit=&before=`: the latest messages, oldest first. */
export interface ConversationHistory {
  conversation: Conversation;
  messages: Message[];
  before_cursor: string | null;
}

/** 201 to `POST /conversations/{id}/messages`; `PATCH /conversations/{id}/messages/{message_id}` */
export interface MessageAnswer {
  message: Message;
}

/** `POST /conversations/{id}/clear` */
export interface ConversationCleared {
  conversation_id: string;
  deleted_messages: number;
}

/** `POST /conversations/{id}/extend` */
export interface ConversationExtended {
  conversation_id: string;
  expires_at: string;
}

/** 202 to `DELETE /conversations/{id}`: the pending archive's state ('deleted' when nothing is archived). */
export interface ConversationDeleteAccepted {
  conversation_id: string;
  status: string;
  deleted_at: string | null;
}

/** `GET /conversations/stats` (the SQL functions conversation_stats / project_conversation_stats build it). */
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
