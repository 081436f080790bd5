// The files API (function `files`, user JWT). The browser uploads straight to
// S3 with a presigned PUT bound to a staging key, the content type and the
// length; the function never sees the bytes (small files may be posted to it
// directly as multipart/form-data). `complete` copies the staged object to
// the file's key and verifies that copy, so what was verified stays. Rows are
// read as the user (RLS); they are written by this server (users may not
// insert file rows or set their status: the database refuses), and the
// database enforces the size cap, the types and the pending-upload quota.
import { CopyObjectCommand, DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { requireUser } from '../auth/caller.ts';
import { readPlatformConfig, readS3Config, type EnvGetter } from '../config.ts';
import { decodeCursor, encodeCursor } from '../http/cursor.ts';
import { asUser, deleteAsUser } from '../db/as-user.ts';
import { createSql, type Sql } from '../db/client.ts';
import { isUuid } from '../ids.ts';
import { readBodyBytes, readJsonBody } from '../http/body.ts';
import { errors } from '../http/errors.ts';
import { json } from '../http/respond.ts';
import { Router } from '../http/router.ts';
import { withHttp, type Handler } from '../http/serve.ts';
import { parseOr400 } from '../http/validate.ts';
import type { Tables } from '../database.types.ts';
import type { FileAnswer, FileDeleteAccepted, FilePage, FileWithDownload, UploadTicket } from './api-types.ts';
import { createS3Client, sseHeaders, sseParams } from '../s3/client.ts';
import { isS3NotFound } from '../s3/errors.ts';
import { fileIncomingKey, fileKey } from '../s3/keys.ts';
import { describeS3Error } from '../s3/objects.ts';
import { readFileSettings } from './settings.ts';
import { displayName, safeFileName, sniffMatches } from './types.ts';

// A files row as to_jsonb gives it: the generated table type.
type Row = Tables<'files'>;

const SNIFF_BYTES = 512;

export function createFilesHandler(env: EnvGetter, deps: { sql?: Sql; s3?: S3Client | null } = {}): Handler {
  const platform = readPlatformConfig(env);
  const s3Config = readS3Config(env);
  const settings = readFileSettings(env);
  const sql = deps.sql ?? createSql(platform.dbUrl ?? '', { applicationName: 'strata-files' });
  const s3 = deps.s3 !== undefined ? deps.s3 : s3Config.configured ? createS3Client(s3Config) : null;

  const Create = z
    .object({
      name: z.string().min(1).max(1024),
      content_type: z.string().min(1).max(200),
      size: z.number().int().min(1),
      sha256: z.string().regex(/^[0-9a-f]{64}$/, 'sha256 must be 64 lowercase hex characters').optional(),
    })
    .strict();
  const ListQuery = z
    .object({
      limit: z.coerce.number().int().min(1).max(100).default(20),
      cursor: z.string().max(200).optional(),
      status: z.enum(['pending_upload', 'uploaded', 'processing', 'processed', 'failed']).optional(),
    })
    .strict();

  const storage = () => {
    if (!s3 || !s3Config.configured) throw errors.serviceUnavailable(s3Config.configured ? 'S3 is not available.' : s3Config.problem);
    return { s3, config: s3Config };
  };
  const s3Call = async <T>(operation: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      console.error(describeS3Error(operation, error));
      throw errors.storageUnavailable();
    }
  };
  const checkDeclared = (contentType: string, size: number) => {
    const type = contentType.split(';')[0]!.trim().toLowerCase();
    if (!settings.allowedTypes.includes(type)) {
      throw errors.unsupportedMediaType(`Content type ${type} is not accepted; allowed: ${settings.allowedTypes.join(', ')}.`);
    }
    if (size > settings.maxBytes) throw errors.payloadTooLarge(`Files may be at most ${settings.maxBytes} bytes.`);
    return type;
  };
  const idParam = (value: string | undefined) => {
    if (!isUuid(value)) throw errors.invalidId('file id');
    return value.toLowerCase();
  };
  const publicFile = (row: Row) => ({ ...row, size: Number(row.size) });

  /** Writes the row as the server, for the caller; the database checks size, type and quota. */
  const insertRow = async (userId: string, input: { name: string; contentType: string; size: number; sha256?: string }) => {
    const id = crypto.randomUUID();
    const key = fileKey(s3Config.configured ? s3Config.prefix : '', userId, id, safeFileName(input.name));
    const [row] = await sql<{ row: Row }[]>`
      insert into public.files (id, user_id, name, original_name, size, content_type, s3_key, sha256)
      values (${id}, ${userId}, ${displayName(input.name)}, ${Array.from(input.name.replace(/\u0000/g, '')).slice(0, 1024).join('')},
              ${input.size}, ${input.contentType}, ${key}, ${input.sha256 ?? null})
      returning to_jsonb(files) as row`;
    return row!.row;
  };
  const headOrNull = (client: S3Client, bucket: string, key: string) =>
    client.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).catch((error) => {
      if (isS3NotFound(error)) return null;
      console.error(describeS3Error('HeadObject', error));
      throw errors.storageUnavailable();
    });

  /**
   * Copies the staged upload to the file's key and checks that copy against
   * the declaration, holding the file row's lock so two completes never
   * interleave. On a mismatch the row fails and both objects go.
   */
  const verifyUpload = async (userId: string, fileId: string): Promise<Row> => {
    const { s3: client, config } = storage();
    const outcome = await sql.begin(async (tx) => {
      const [locked] = await tx<{ row: Row }[]>`
        select to_jsonb(f) as row from public.files f
         where id = ${fileId} and user_id = ${userId} and deleted_at is null for update`;
      if (!locked) throw errors.notFound('File');
      const row = locked.row;
      if (row.status !== 'pending_upload') return { row };
      const staged = fileIncomingKey(row.s3_key);
      const head = await headOrNull(client, config.bucket, staged);
      if (!head) throw errors.uploadMissing();
      let reason: string | null = null;
      if (Number(head.ContentLength) !== Number(row.size)) reason = `size is ${head.ContentLength} bytes, ${row.size} were declared`;
      if (!reason) {
        await s3Call('CopyObject', () => client.send(new CopyObjectCommand({
          Bucket: config.bucket, Key: row.s3_key, CopySource: `${config.bucket}/${staged.split('/').map(encodeURIComponent).join('/')}`,
          ...sseParams(config),
        })));
        // From here on only the copy counts: a new PUT to the upload URL changes the staged object only.
        const copy = await headOrNull(client, config.bucket, row.s3_key);
        if (!copy || Number(copy.ContentLength) !== Number(row.size)) reason = `size is ${copy?.ContentLength ?? 0} bytes, ${row.size} were declared`;
      }
      if (!reason) {
        const range = row.sha256 ? undefined : `bytes=0-${SNIFF_BYTES - 1}`;
        const object = await s3Call('GetObject', () => client.send(new GetObjectCommand({ Bucket: config.bucket, Key: row.s3_key, Range: range })));
        const bytes = await object.Body!.transformToByteArray();
        if (!sniffMatches(row.content_type, bytes.subarray(0, SNIFF_BYTES))) reason = `its content is not ${row.content_type}`;
        else if (row.sha256 && createHash('sha256').update(bytes).digest('hex') !== row.sha256) reason = 'its sha256 differs from the declared one';
      }
      if (reason) {
        await s3Call('DeleteObject', () => client.send(new DeleteObjectCommand({ Bucket: config.bucket, Key: row.s3_key })));
        await s3Call('DeleteObject', () => client.send(new DeleteObjectCommand({ Bucket: config.bucket, Key: staged })));
        await tx`update public.files set status = 'failed', error = ${`upload rejected: ${reason}`} where id = ${row.id}`;
        return { reason };
      }
      const [updated] = await tx<{ row: Row }[]>`
        update public.files set status = 'uploaded' where id = ${row.id} returning to_jsonb(files) as row`;
      return { row: updated!.row, staged };
    });
    if ('reason' in outcome) throw errors.uploadRejected(outcome.reason!);
    // The staged object is no longer needed (a failure here leaves it inside the file's folder, removed with the file).
    if (outcome.staged) await client.send(new DeleteObjectCommand({ Bucket: config.bucket, Key: outcome.staged })).catch(() => undefined);
    return outcome.row;
  };

  const router = new Router('files')
    .on('POST', '/', async (request) => {
      const caller = requireUser(request);
      const { s3: client, config } = storage();
      const type = request.headers.get('content-type') ?? '';
      if (type.startsWith('multipart/form-data')) {
        // Small files straight through the function, read with a hard cap
        // (a chunked body has no Content-Length to check up front).
        const raw = await readBodyBytes(request, settings.directMaxBytes + 64 * 1024);
        const form = await new Response(raw, { headers: { 'content-type': type } }).formData().catch(() => {
          throw errors.invalidRequest('The multipart body could not be read.');
        });
        const file = form.get('file');
        if (!file || typeof file === 'string') throw errors.invalidRequest('Send the file in a form field named "file".');
        if (file.size > settings.directMaxBytes) throw errors.payloadTooLarge(`Direct uploads may be at most ${settings.directMaxBytes} bytes.`);
        const contentType = checkDeclared(file.type || 'application/octet-stream', file.size);
        const bytes = new Uint8Array(await file.arrayBuffer());
        // The bytes are here: check them before anything is stored.
        if (bytes.length === 0) throw errors.invalidRequest('The file is empty.');
        if (!sniffMatches(contentType, bytes.subarray(0, SNIFF_BYTES))) throw errors.uploadRejected(`its content is not ${contentType}`);
        const row = await insertRow(caller.userId, { name: file.name || 'file', contentType, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
        await s3Call('PutObject', () => client.send(new PutObjectCommand({ Bucket: config.bucket, Key: row.s3_key, Body: bytes, ContentType: contentType, ...sseParams(config) })));
        const [uploaded] = await sql<{ row: Row }[]>`
          update public.files set status = 'uploaded' where id = ${row.id} and status = 'pending_upload' returning to_jsonb(files) as row`;
        if (!uploaded) throw errors.notFound('File');
        return json({ file: publicFile(uploaded.row) } satisfies FileAnswer, 201);
      }
      const input = parseOr400(Create, await readJsonBody(request, 16 * 1024), 'file');
      const contentType = checkDeclared(input.content_type, input.size);
      const row = await insertRow(caller.userId, { name: input.name, contentType, size: input.size, sha256: input.sha256 });
      const url = await s3Call('presign PutObject', () =>
        getSignedUrl(
          client,
          new PutObjectCommand({ Bucket: config.bucket, Key: fileIncomingKey(row.s3_key), ContentType: contentType, ContentLength: input.size, ...sseParams(config) }),
          { expiresIn: settings.urlTtlSeconds, signableHeaders: new Set(['content-type', 'content-length']) },
        ),
      );
      return json(
        {
          file: publicFile(row),
          upload: {
            method: 'PUT',
            url,
            headers: { 'content-type': contentType, ...sseHeaders(config) },
            expires_at: new Date(Date.now() + settings.urlTtlSeconds * 1000).toISOString(),
          },
        } satisfies UploadTicket,
        201,
      );
    })
    .on('POST', '/:id/complete', async (request, params) => {
      const caller = requireUser(request);
      const id = idParam(params.id);
      const [row] = await asUser(sql, caller.claims, (tx) => tx<{ row: Row }[]>`select to_jsonb(f) as row from public.files f where id = ${id}`);
      if (!row) throw errors.notFound('File');
      if (row.row.status !== 'pending_upload') return json({ file: publicFile(row.row) } satisfies FileAnswer);
      return json({ file: publicFile(await verifyUpload(caller.userId, id)) } satisfies FileAnswer);
    })
    .on('GET', '/', async (request, _params, url) => {
      const caller = requireUser(request);
      const { limit, cursor, status } = parseOr400(ListQuery, Object.fromEntries(url.searchParams), 'query');
      const after = cursor ? decodeCursor(cursor) : null;
      const rows = await asUser(sql, caller.claims, (tx) => tx<{ row: Row }[]>`
        select to_jsonb(f) as row from public.files f
         where ${status ? tx`f.status = ${status}` : tx`true`}
           and ${after ? tx`(f.created_at, f.id) < (${after[0]}::text::timestamptz, ${after[1]}::uuid)` : tx`true`}
         order by f.created_at desc, f.id desc
         limit ${limit + 1}`);
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      return json({
        files: page.map((r) => publicFile(r.row)),
        next_cursor: rows.length > limit && last ? encodeCursor(last.row.created_at as string, last.row.id) : null,
      } satisfies FilePage);
    })
    .on('GET', '/:id', async (request, params) => {
      const caller = requireUser(request);
      const id = idParam(params.id);
      const [row] = await asUser(sql, caller.claims, (tx) => tx<{ row: Row }[]>`select to_jsonb(f) as row from public.files f where id = ${id}`);
      if (!row) throw errors.notFound('File');
      let download: { url: string; expires_at: string } | null = null;
      if (['uploaded', 'processing', 'processed'].includes(row.row.status)) {
        const { s3: client, config } = storage();
        const url = await s3Call('presign GetObject', () =>
          getSignedUrl(client, new GetObjectCommand({ Bucket: config.bucket, Key: row.row.s3_key }), { expiresIn: settings.urlTtlSeconds }),
        );
        download = { url, expires_at: new Date(Date.now() + settings.urlTtlSeconds * 1000).toISOString() };
      }
      return json({ file: publicFile(row.row), download } satisfies FileWithDownload);
    })
    .on('DELETE', '/:id', async (request, params) => {
      const caller = requireUser(request);
      const id = idParam(params.id);
      // The delete trigger turns this into an S3-first delete job.
      const found = await deleteAsUser(sql, caller.claims, 'files', id);
      if (!found) throw errors.notFound('File');
      return json({ file_id: id, status: 'deleting' } satisfies FileDeleteAccepted, 202);
    });

  return withHttp((request) => router.handle(request));
}
