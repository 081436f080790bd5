// Disaster recovery: rebuilds the archived_conversations index from the S3
// objects' metadata alone (every archive object carries its ids, sha256,
// message count and dates). An object whose conversation is live in Postgres
// is left out: it is a stale copy (the conversation was restored), and an
// index row would let the live conversation be deleted without a new archive.
// Where several generations of one conversation are found (an old one whose
// deletion job has not run yet), the most recently stored one is indexed; an
// index row that is not 'stored' (pending, or being deleted for good) is never
// overwritten.
import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { S3Config } from '../config.ts';
import type { Sql } from '../db/client.ts';
import { sseParams } from '../s3/client.ts';
import { s3StatusOf } from '../s3/errors.ts';
import { inPool } from '../pool.ts';
import { archiveListingKey, parseArchiveKey } from '../s3/keys.ts';
import { describeS3Error, listFolders, listKeys } from '../s3/objects.ts';

type ConfiguredS3 = Extract<S3Config, { configured: true }>;

export interface RebuildReport {
  objects: number;
  indexed: number;
  unchanged: number;
  skipped_live: number;
  skipped_unknown_user: number;
  /** Older generations of a conversation that has a newer one in the bucket. */
  superseded: number;
  /** Left alone: the conversation came back meanwhile, its generation was given up, or its index row is pending or being deleted. */
  skipped_in_use: number;
  /** Listed, then gone before it could be read (deleted meanwhile). */
  vanished: number;
  invalid: Array<{ key: string; reason: string }>;
  metadata_files: number;
}

interface Entry {
  key: string;
  conversationId: string;
  generation: string;
  userId: string;
  sha256: string;
  messageCount: number;
  bytes: number;
  createdAt: string;
  /** When S3 stored it (the object's LastModified). */
  archivedAt: string;
  /** When the conversation was deleted (frozen), from the object's metadata. */
  deletedAt: string;
  title: string | null;
  formatVersion: number;
}

function decodeTitle(raw: string | undefined): string | null {
  if (!raw) return null;
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** HeadObject, retried on transient (5xx, network) failures; a reason string when it cannot be read. */
async function headWithRetry(s3: S3Client, bucket: string, key: string) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    } catch (error) {
      const status = s3StatusOf(error);
      if (status === 404) return 'vanished' as const;
      if (attempt >= 3 || (status !== undefined && status < 500)) return `unreadable: ${describeS3Error('HeadObject', error)}`;
      await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
    }
  }
}

export async function rebuildIndex(options: {
  sql: Sql;
  s3: S3Client;
  config: ConfiguredS3;
  writeMetadataJson?: boolean;
  onProgress?: (done: number, total: number) => void;
}): Promise<RebuildReport> {
  const { sql, s3, config } = options;
  const root = config.prefix ? `${config.prefix}/archived_conversations/` : 'archived_conversations/';
  const report: RebuildReport = { objects: 0, indexed: 0, unchanged: 0, skipped_live: 0, skipped_unknown_user: 0, superseded: 0, skipped_in_use: 0, vanished: 0, invalid: [], metadata_files: 0 };

  // User by user: one unreadable folder is reported, not fatal to the rest.
  const keys: string[] = [];
  const folders = await listFolders(s3, config.bucket, root);
  for (const folder of folders.length > 0 ? folders : [root]) {
    try {
      for await (const object of listKeys(s3, config.bucket, folder)) {
        if (parseArchiveKey(config.prefix, object.key)) keys.push(object.key);
      }
    } catch (error) {
      report.invalid.push({ key: folder, reason: `could not list: ${describeS3Error('ListObjectsV2', error)}` });
    }
  }
  report.objects = keys.length;

  const entries: Entry[] = [];
  let done = 0;
  await inPool(keys, 16, async (key) => {
    const ids = parseArchiveKey(config.prefix, key)!;
    const head = await headWithRetry(s3, config.bucket, key);
    if (head === 'vanished' || typeof head === 'string') {
      if (head === 'vanished') report.vanished++;
      else report.invalid.push({ key, reason: head });
      options.onProgress?.(++done, keys.length);
      return;
    }
    const m = head.Metadata ?? {};
    const reason =
      !/^[0-9a-f]{64}$/.test(m['sha256'] ?? '') ? 'no sha256 in metadata'
      : m['conversation-id'] !== ids.conversationId || m['user-id'] !== ids.userId ? 'metadata ids do not match the key'
      : !m['archived-at'] || !m['created-at'] ? 'no dates in metadata'
      : null;
    if (reason) report.invalid.push({ key, reason });
    else {
      entries.push({
        key,
        conversationId: ids.conversationId,
        generation: ids.generation,
        userId: ids.userId,
        sha256: m['sha256']!,
        messageCount: Number(m['message-count'] ?? 0),
        bytes: head.ContentLength ?? 0,
        createdAt: m['created-at']!,
        archivedAt: head.LastModified?.toISOString() ?? m['archived-at']!,
        deletedAt: m['archived-at']!,
        title: decodeTitle(m['title']),
        formatVersion: Number(m['format-version'] ?? 1),
      });
    }
    options.onProgress?.(++done, keys.length);
  });

  // One generation per conversation: the most recently stored.
  entries.sort((a, b) => b.archivedAt.localeCompare(a.archivedAt));
  const newest = new Set<string>();
  const indexedByUser = new Map<string, Entry[]>();
  for (const entry of entries) {
    if (newest.has(entry.conversationId)) {
      report.superseded++;
      continue;
    }
    newest.add(entry.conversationId);
    const [state] = await sql<{ live: boolean; user_exists: boolean; current: string | null }[]>`
      select exists (select 1 from public.conversations where id = ${entry.conversationId}) as live,
             exists (select 1 from auth.users where id = ${entry.userId}) as user_exists,
             (select sha256 from public.archived_conversations where conversation_id = ${entry.conversationId} and status = 'stored') as current`;
    if (state!.live) {
      report.skipped_live++;
      continue;
    }
    if (!state!.user_exists) {
      report.skipped_unknown_user++;
      continue;
    }
    if (state!.current === entry.sha256) report.unchanged++;
    else {
      // The checks sit inside the statement, so a restore committing meanwhile
      // (conversation live, that generation's object queued for deletion) wins.
      const written = await sql`
        insert into public.archived_conversations
          (conversation_id, generation, user_id, title, created_at, deleted_at, archived_at, message_count, bytes, sha256, s3_key, format_version, status)
        -- ::text first: postgres.js would send the timestamps through a JS Date and drop their microseconds.
        select ${entry.conversationId}, ${entry.generation}, ${entry.userId}, ${entry.title}, ${entry.createdAt}::text::timestamptz,
               ${entry.deletedAt}::text::timestamptz, ${entry.archivedAt}::text::timestamptz,
               ${entry.messageCount}, ${entry.bytes}, ${entry.sha256}, ${entry.key}, ${entry.formatVersion}, 'stored'
         where not exists (select 1 from public.conversations c where c.id = ${entry.conversationId})
           and not exists (select 1 from private.jobs j where j.kind = 'delete_archive_object'
                              and j.subject_id = ${entry.generation} and j.status in ('pending', 'running', 'done'))
        on conflict (conversation_id) do update set
          generation = excluded.generation, user_id = excluded.user_id, title = excluded.title, created_at = excluded.created_at, deleted_at = excluded.deleted_at,
          archived_at = excluded.archived_at, message_count = excluded.message_count, bytes = excluded.bytes,
          sha256 = excluded.sha256, s3_key = excluded.s3_key, format_version = excluded.format_version,
          status = 'stored', last_error = null
        where archived_conversations.status = 'stored'
        returning 1`;
      // Not written: restored or live meanwhile, that generation was given up, or the index row is pending or being deleted.
      if (written.length === 0) {
        report.skipped_in_use++;
        continue;
      }
      report.indexed++;
    }
    const list = indexedByUser.get(entry.userId) ?? [];
    list.push(entry);
    indexedByUser.set(entry.userId, list);
  }

  if (options.writeMetadataJson) {
    for (const [userId, list] of indexedByUser) {
      list.sort((a, b) => b.archivedAt.localeCompare(a.archivedAt));
      const document = {
        user_id: userId,
        updated_at: new Date().toISOString(),
        conversation_count: list.length,
        conversations: list.map((e) => ({
          conversation_id: e.conversationId,
          title: e.title,
          created_at: e.createdAt,
          archived_at: e.archivedAt,
          message_count: e.messageCount,
          size_bytes: e.bytes,
          sha256: e.sha256,
          s3_key: e.key,
        })),
      };
      await s3.send(
        new PutObjectCommand({
          Bucket: config.bucket,
          Key: archiveListingKey(config.prefix, userId),
          Body: JSON.stringify(document, null, 2),
          ContentType: 'application/json',
          ...sseParams(config),
        }),
      );
      report.metadata_files++;
    }
  }
  return report;
}
