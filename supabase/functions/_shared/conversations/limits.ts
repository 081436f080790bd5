// Limits of the conversations API, from the environment, with safe defaults.
import type { EnvGetter } from '../config.ts';
import { readInt } from '../settings.ts';

export interface ConversationLimits {
  maxContentBytes: number;
  maxMetadataBytes: number;
  maxTitleChars: number;
  defaultPageSize: number;
  maxPageSize: number;
  defaultHistory: number;
  maxTtlHours: number;
}

export function readConversationLimits(env: EnvGetter): ConversationLimits {
  return {
    maxContentBytes: readInt(env, 'MESSAGE_MAX_CONTENT_BYTES', 1024 * 1024, 1, 50 * 1024 * 1024),
    maxMetadataBytes: readInt(env, 'MESSAGE_MAX_METADATA_BYTES', 64 * 1024, 2, 10 * 1024 * 1024),
    maxTitleChars: readInt(env, 'CONVERSATION_MAX_TITLE_CHARS', 500, 1, 10_000),
    defaultPageSize: readInt(env, 'PAGE_SIZE_DEFAULT', 20, 1, 1000),
    maxPageSize: readInt(env, 'PAGE_SIZE_MAX', 100, 1, 1000),
    defaultHistory: readInt(env, 'HISTORY_DEFAULT_MESSAGES', 10, 1, 1000),
    maxTtlHours: readInt(env, 'TTL_MAX_HOURS', 24 * 365, 1, 24 * 3650),
  };
}
