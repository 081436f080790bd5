// Every S3 key Strata writes is built here, from validated ids only, under
// the optional S3_PREFIX. The owner's user id is always a path segment, so a
// user's objects can be found (and erased) by prefix.
import { assertUuid } from '../ids.ts';

const withPrefix = (prefix: string, key: string) => (prefix ? `${prefix}/${key}` : key);

/**
 * archived_conversations/{user_id}/{conversation_id}/{generation}.json.gz: each
 * archive of a conversation is a generation with its own key, so a restore or
 * permanent delete of one generation can never touch a newer one.
 */
export function archiveKey(prefix: string, userId: string, conversationId: string, generation: string): string {
  return withPrefix(
    prefix,
    `archived_conversations/${assertUuid(userId, 'user id')}/${assertUuid(conversationId, 'conversation id')}/${assertUuid(generation, 'archive generation')}.json.gz`,
  );
}

/** Prefixes directly under which a user's objects live (analysis keys are dated: see userAnalysisPrefix). */
export function userPrefixes(prefix: string, userId: string): string[] {
  const id = assertUuid(userId, 'user id');
  return [withPrefix(prefix, `archived_conversations/${id}/`), withPrefix(prefix, `files/${id}/`)];
}

/** analysis/{yyyy}/{mm}/{user_id}/: the root to list, and the user's folder under a given month. */
export const analysisRoot = (prefix: string) => withPrefix(prefix, 'analysis/');
export const userAnalysisPrefix = (monthPrefix: string, userId: string) => `${monthPrefix}${assertUuid(userId, 'user id')}/`;

/** Reads the ids back out of an archive key (for rebuilding the index from S3). */
export function parseArchiveKey(prefix: string, key: string): { userId: string; conversationId: string; generation: string } | null {
  const rest = prefix ? (key.startsWith(`${prefix}/`) ? key.slice(prefix.length + 1) : null) : key;
  const match = rest && /^archived_conversations\/([0-9a-f-]{36})\/([0-9a-f-]{36})\/([0-9a-f-]{36})\.json\.gz$/.exec(rest);
  return match ? { userId: match[1]!, conversationId: match[2]!, generation: match[3]! } : null;
}

/** files/{user_id}/{file_id}/{safe_name}: the name part must come from files/types.ts safeFileName. */
export function fileKey(prefix: string, userId: string, fileId: string, safeName: string): string {
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(safeName) || /^\.+$/.test(safeName)) throw new Error('file name is not a safe key segment');
  return withPrefix(prefix, `files/${assertUuid(userId, 'user id')}/${assertUuid(fileId, 'file id')}/${safeName}`);
}

/** The text extracted from a file, beside it: files/{user_id}/{file_id}/extracted.txt. */
export function extractedTextKey(fileKeyValue: string): string {
  return `${fileKeyValue.slice(0, fileKeyValue.lastIndexOf('/'))}/extracted.txt`;
}

/** A user's archive listing written by `strata archive rebuild-index --metadata-json`. */
export function archiveListingKey(prefix: string, userId: string): string {
  return withPrefix(prefix, `archived_conversations/${assertUuid(userId, 'user id')}/metadata.json`);
}
export const isArchiveListingKey = (key: string) => /(^|\/)archived_conversations\/[0-9a-f-]{36}\/metadata\.json$/.test(key);

/**
 * Where a browser's presigned PUT lands: files/{user_id}/{file_id}/incoming/{safe_name}.
 * `complete` copies it to the file's key and verifies that copy, so a later
 * PUT to the same URL can never replace what was verified.
 */
export function fileIncomingKey(fileKeyValue: string): string {
  const slash = fileKeyValue.lastIndexOf('/');
  return `${fileKeyValue.slice(0, slash)}/incoming/${fileKeyValue.slice(slash + 1)}`;
}

/** analysis/{yyyy}/{mm}/{user_id}/{id}.json, dated in UTC. */
export function analysisKey(prefix: string, userId: string, id: string, at: Date): string {
  const yyyy = String(at.getUTCFullYear()).padStart(4, '0');
  const mm = String(at.getUTCMonth() + 1).padStart(2, '0');
  return withPrefix(prefix, `analysis/${yyyy}/${mm}/${assertUuid(userId, 'user id')}/${assertUuid(id, 'analysis id')}.json`);
}
