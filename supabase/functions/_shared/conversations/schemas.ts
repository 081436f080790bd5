// Request schemas of the conversations API. Unknown fields are refused.
import { z } from 'zod';
import { MAX_JSON_DEPTH, nestedDeeperThan } from '../http/json-depth.ts';
import type { NewConversation, NewMessage } from './api-types.ts';
import type { ConversationLimits } from './limits.ts';

const jsonSize = (value: unknown) => new TextEncoder().encode(JSON.stringify(value)).length;
const utf8Size = (value: string) => new TextEncoder().encode(value).length;

// Nested at most MAX_JSON_DEPTH levels: Postgres cannot store (and an archive
// could not restore) JSON nested thousands of levels deep (http/json-depth.ts).
const metadataObject = z
  .record(z.string(), z.unknown())
  .refine((value) => !nestedDeeperThan(value, MAX_JSON_DEPTH), `metadata may be nested at most ${MAX_JSON_DEPTH} levels deep`);

export function schemas(limits: ConversationLimits) {
  const metadata = metadataObject;
  return {
    createConversation: z
      .object({
        title: z.string().max(limits.maxTitleChars).nullable().optional(),
        metadata: metadata.optional(),
        ttl_hours: z.number().int().min(1).max(limits.maxTtlHours).nullable().optional(),
      })
      .strict(),
    addMessage: z
      .object({
        role: z.enum(['user', 'assistant', 'system', 'tool']),
        content: z.string(),
        metadata: metadata.optional(),
        feedback: z.enum(['positive', 'negative']).nullable().optional(),
        model: z.string().max(200).nullable().optional(),
        tokens: z.number().int().min(0).max(2_147_483_647).nullable().optional(),
        duration_ms: z.number().int().min(0).max(2_147_483_647).nullable().optional(),
      })
      .strict(),
    feedback: z.object({ feedback: z.enum(['positive', 'negative']).nullable() }).strict(),
    extend: z.object({ hours: z.number().int().min(1).max(limits.maxTtlHours) }).strict(),
    listQuery: z
      .object({
        limit: z.coerce.number().int().min(1).max(limits.maxPageSize).default(limits.defaultPageSize),
        cursor: z.string().max(200).optional(),
      })
      .strict(),
    historyQuery: z
      .object({
        limit: z.coerce.number().int().min(1).max(limits.maxPageSize).default(limits.defaultHistory),
        before: z.string().max(200).optional(),
      })
      .strict(),
  };
}

/** Size limits are 413s with their own codes, checked after the shape is known. */
export function oversize(limits: ConversationLimits, message: { content?: string; metadata?: unknown }): string | null {
  if (message.content !== undefined && utf8Size(message.content) > limits.maxContentBytes) {
    return `content is larger than ${limits.maxContentBytes} bytes`;
  }
  if (message.metadata !== undefined && jsonSize(message.metadata) > limits.maxMetadataBytes) {
    return `metadata is larger than ${limits.maxMetadataBytes} bytes`;
  }
  return null;
}

// The request types the client sends (api-types.ts) are what these schemas
// accept: every field the schema knows is declared, and every declared body
// fits the schema's input. A field added to one side only fails the type check.
type Schemas = ReturnType<typeof schemas>;
type Accepts<Input, Declared> = [keyof Input] extends [keyof Declared]
  ? [keyof Declared] extends [keyof Input]
    ? [Declared] extends [Input] ? true : false
    : false
  : false;
const _requestTypesMatch: [Accepts<z.input<Schemas['createConversation']>, NewConversation>, Accepts<z.input<Schemas['addMessage']>, NewMessage>] = [true, true];
