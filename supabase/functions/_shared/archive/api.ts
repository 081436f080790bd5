// The archive API (function `archive`, user JWT): status, the caller's
// archives (stored and pending), one archive's JSON, restore, and permanent
// delete. User requests run as the user, so RLS decides what exists.
import type { S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { callerOf, requireUser } from '../auth/caller.ts';
import type { EnvGetter } from '../config.ts';
import { readPlatformConfig, readS3Config } from '../config.ts';
import { asUser } from '../db/as-user.ts';
import { createSql, type Sql } from '../db/client.ts';
import { isUuid } from '../ids.ts';
import { AppError, errors } from '../http/errors.ts';
import { json } from '../http/respond.ts';
import { Router } from '../http/router.ts';
import { withHttp, type Handler } from '../http/serve.ts';
import { createS3Client } from '../s3/client.ts';
import { decodeCursor, encodeCursor } from '../http/cursor.ts';
import type { ArchiveDeleteAccepted, ArchivedConversation, ArchivePage, ArchiveRestored, ArchiveStatus } from './api-types.ts';
import { decodeChunks, joinChunks, readArchive, readArchiveReadSettings, type ArchiveRead } from './read.ts';

const PAGE = { default: 20, max: 100 };

const ListQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(PAGE.max).default(PAGE.default),
    cursor: z.string().max(200).optional(),
  })
  .strict();

interface ArchiveRow {
  conversation_id: string;
  generation: string;
  /** deleted_at at full precision, for the cursor. */
  cursor_at?: string;
  title: string | null;
  created_at: string;
  deleted_at: string;
  archived_at: string | null;
  message_count: number | null;
  bytes: number | null;
  sha256: string | null;
  s3_key: string | null;
  status: string;
  attempts: number;
  last_error: string | null;
}

function publicView(row: ArchiveRow): ArchivedConversation {
  const { s3_key: _key, cursor_at: _cursor, generation: _generation, ...rest } = row;
  return { ...rest, bytes: row.bytes === null ? null : Number(row.bytes) };
}

export function createArchiveHandler(env: EnvGetter, deps: { sql?: Sql; s3?: S3Client | null } = {}): Handler {
  const platform = readPlatformConfig(env);
  const s3Config = readS3Config(env);
  const sql = deps.sql ?? createSql(platform.dbUrl ?? '', { applicationName: 'strata-archive-api' });
  const s3 = deps.s3 !== undefined ? deps.s3 : s3Config.configured ? createS3Client(s3Config) : null;
  const readSettings = readArchiveReadSettings(env);

  const requireS3 = () => {
    if (!s3 || !s3Config.configured) throw errors.serviceUnavailable(s3Config.configured ? 'S3 is not available.' : s3Config.problem);
    return { s3, bucket: s3Config.bucket };
  };
  const idParam = (params: Record<string, string>) => {
    if (!isUuid(params.id)) throw errors.invalidId('conversation id');
    return params.id.toLowerCase();
  };

  const router = new Router('archive')
    .on('GET', '/status', async (request) => {
      const caller = callerOf(request, { service: platform });
      const storage = s3Config.configured
        ? { enabled: true, bucket: s3Config.bucket, prefix: s3Config.prefix || null }
        : { enabled: false, bucket: null, prefix: null, reason: s3Config.problem };
      if (caller.kind === 'service') {
        const [row] = await sql`
          select count(*) filter (where status = 'pending')::int as pending,
                 count(*) filter (where status = 'running')::int as running,
                 count(*) filter (where status = 'dead')::int as failed,
                 extract(epoch from now() - min(created_at) filter (where status = 'pending'))::float as oldest_pending_seconds,
                 (select last_error from private.jobs where last_error is not null order by updated_at desc limit 1) as last_error
            from private.jobs where kind = 'archive_conversation'`;
        const [stored] = await sql`select count(*)::int as archived from public.archived_conversations where status = 'stored'`;
        return json({ scope: 'project', ...storage, counts: { pending: row!.pending, running: row!.running, failed: row!.failed, archived: stored!.archived }, oldest_pending_seconds: row!.oldest_pending_seconds, last_error: row!.last_error } satisfies ArchiveStatus);
      }
      const row = await asUser(sql, caller.claims, async (tx) => {
        const [counts] = await tx`
          select count(*) filter (where status = 'pending')::int as pending,
                 count(*) filter (where status = 'archiving')::int as running,
                 count(*) filter (where status = 'failed')::int as failed,
                 count(*) filter (where status = 'stored')::int as archived,
                 extract(epoch from now() - min(deleted_at) filter (where status in ('pending', 'archiving')))::float as oldest_pending_seconds,
                 (array_agg(last_error order by deleted_at desc) filter (where last_error is not null))[1] as last_error
            from public.archived_conversations`;
        return counts!;
      });
      return json({ scope: 'user', ...storage, counts: { pending: row.pending, running: row.running, failed: row.failed, archived: row.archived }, oldest_pending_seconds: row.oldest_pending_seconds, last_error: row.last_error } satisfies ArchiveStatus);
    })
    .on('GET', '/conversations', async (request, _params, url) => {
      const caller = requireUser(request);
      const parsed = ListQuery.safeParse(Object.fromEntries(url.searchParams));
      if (!parsed.success) throw errors.invalidRequest('Invalid query parameters.', parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })));
      const { limit, cursor } = parsed.data;
      const after = cursor ? decodeCursor(cursor) : null;
      const rows = await asUser(sql, caller.claims, (tx) => tx<ArchiveRow[]>`
        select conversation_id, title, created_at, deleted_at, archived_at, message_count, bytes, sha256, s3_key, status, attempts, last_error,
               to_jsonb(deleted_at) #>> '{}' as cursor_at
          from public.archived_conversations
         where ${after ? tx`(deleted_at, conversation_id) < (${after[0]}::text::timestamptz, ${after[1]}::uuid)` : tx`true`}
         order by deleted_at desc, conversation_id desc
         limit ${limit + 1}`);
      const page = rows.slice(0, limit);
      return json({
        archives: page.map(publicView),
        next_cursor: rows.length > limit ? encodeCursor(page[page.length - 1]!.cursor_at!, page[page.length - 1]!.conversation_id) : null,
      } satisfies ArchivePage);
    })
    .on('GET', '/conversations/:id', async (request, params) => {
      const caller = requireUser(request);
      const id = idParam(params);
      const [row] = await asUser(sql, caller.claims, (tx) => tx<ArchiveRow[]>`
        select * from public.archived_conversations where conversation_id = ${id}`);
      if (!row) throw errors.notFound('Archive');
      if (row.status !== 'stored') throw errors.archiveNotReady(row.status);
      // Small archives are verified before the first byte (corrupt: 422);
      // larger ones stream through gunzip and sha256, and a mismatch found at
      // the end aborts the transfer instead of completing a wrong document.
      const read = await readArchiveOrGone(caller.claims, id, row, readSettings.verifyBeforeSendMaxBytes);
      const body = read.whole ? joinChunks(read.chunks, read.bytes) : read.stream;
      return new Response(body, { status: 200, headers: { 'content-type': 'application/json; charset=utf-8', 'access-control-allow-origin': '*', 'x-archive-sha256': row.sha256! } });
    })
    .on('POST', '/conversations/:id/restore', async (request, params) => {
      const caller = requireUser(request);
      const id = idParam(params);
      requireS3();
      const [row] = await asUser(sql, caller.claims, (tx) => tx<ArchiveRow[]>`select * from public.archived_conversations where conversation_id = ${id}`);
      if (!row) throw errors.notFound('Archive');
      if (row.status !== 'stored') throw errors.archiveNotReady(row.status);
      // Restore hands the whole JSON text to one SQL call (which checks the
      // sha256 of exactly that text under the index row's lock), so the
      // function must hold the whole document: it does so only up to
      // ARCHIVE_RESTORE_MAX_BYTES (see read.ts). Larger archives answer 413
      // and are restored by `strata archive restore` in Node, which calls the
      // same SQL function as the same user. Why not batches: the database
      // itself must check the sha256 of the exact archived text under the
      // row lock (the function is callable by any signed-in client, so a
      // hash computed by the caller proves nothing), and Postgres hashes
      // only whole values; batching would need a new staging API in SQL. The
      // refusal keeps one atomic, database-verified restore path.
      const limit = readSettings.restoreMaxBytes;
      if (row.bytes !== null && Number(row.bytes) > limit) throw tooLargeToRestore(id, caller.userId, limit);
      const read = await readArchiveOrGone(caller.claims, id, row, limit);
      if (!read.whole) {
        await read.stream.cancel().catch(() => undefined);
        throw tooLargeToRestore(id, caller.userId, limit);
      }
      const text = decodeChunks(read.chunks);
      // The SQL function checks the text against the stored sha256 under the
      // index row's lock, restores, and queues the deletion of exactly this
      // generation's object; a concurrent delete or restore finds no archive.
      const result = await asUser(sql, caller.claims, async (tx) => {
        const [restored] = await tx`select public.restore_archived_conversation(${text}) as result`;
        return restored!.result as { conversation_id: string; message_count: number };
      });
      return json({ conversation_id: result.conversation_id, message_count: result.message_count, restored: true } satisfies ArchiveRestored);
    })
    .on('DELETE', '/conversations/:id', async (request, params) => {
      const caller = requireUser(request);
      const id = idParam(params);
      // The index row becomes 'deleting' (gone from the caller's reads) and a
      // job deletes the object, every version, then the row.
      const state = await asUser(sql, caller.claims, async (tx) => {
        const [deleted] = await tx`select public.delete_archived_conversation(${id}) as result`;
        return deleted!.result as { conversation_id: string; status: string };
      });
      return json({ conversation_id: state.conversation_id, deleted: true, status: state.status } satisfies ArchiveDeleteAccepted);
    });

  /**
   * Reads a stored archive; when the read fails because the archive was
   * restored or deleted meanwhile, that is a 404, not a corrupt archive.
   */
  async function readArchiveOrGone(claims: Record<string, unknown>, id: string, row: ArchiveRow, wholeMaxBytes: number): Promise<ArchiveRead> {
    const { s3: client, bucket } = requireS3();
    try {
      return await readArchive(client, bucket, row.s3_key!, row.sha256!, {
        wholeMaxBytes,
        timeoutMs: s3Config.configured ? s3Config.requestTimeoutMs : undefined,
      });
    } catch (error) {
      const [now] = await asUser(sql, claims, (tx) => tx<{ generation: string }[]>`
        select generation from public.archived_conversations where conversation_id = ${id} and status = 'stored'`);
      if (!now || now.generation !== row.generation) throw errors.notFound('Archive');
      throw error;
    }
  }

  return withHttp((request) => router.handle(request));
}

/** 413 for an archive above ARCHIVE_RESTORE_MAX_BYTES: the message names the CLI that restores it. */
export function tooLargeToRestore(conversationId: string, userId: string, limitBytes: number): AppError {
  const command = `npx strata archive restore ${conversationId} --user ${userId}`;
  return new AppError(
    'payload_too_large',
    `The archive is larger than this function restores (ARCHIVE_RESTORE_MAX_BYTES = ${limitBytes} bytes of JSON); an operator can restore it with: ${command}`,
    { limit_bytes: limitBytes, command },
  );
}
