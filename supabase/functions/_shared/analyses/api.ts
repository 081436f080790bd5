// The analyses API (function `analyses`, user JWT): JSON documents such as
// analyses, transcripts and repair plans, stored in S3 with only their key,
// size and sha256 in Postgres. Rows are read as the user (RLS) and written by
// this server once the document is in S3 (users may not insert them).
import { DeleteObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { requireUser } from '../auth/caller.ts';
import { readPlatformConfig, readS3Config, type EnvGetter } from '../config.ts';
import { decodeCursor, encodeCursor } from '../http/cursor.ts';
import { asUser, deleteAsUser } from '../db/as-user.ts';
import { createSql, type Sql } from '../db/client.ts';
import { readFileSettings } from '../files/settings.ts';
import { isUuid } from '../ids.ts';
import { readJsonBody } from '../http/body.ts';
import { MAX_JSON_DEPTH, nestedDeeperThan } from '../http/json-depth.ts';
import { errors } from '../http/errors.ts';
import { json } from '../http/respond.ts';
import { Router } from '../http/router.ts';
import { withHttp, type Handler } from '../http/serve.ts';
import { parseOr400 } from '../http/validate.ts';
import type { Tables } from '../database.types.ts';
import type { AnalysisCreated, AnalysisDeleteAccepted, AnalysisPage, AnalysisWithData } from './api-types.ts';
import { createS3Client } from '../s3/client.ts';
import { describeS3Error } from '../s3/objects.ts';
import { putAnalysisDocument, readAnalysisDocument } from './store.ts';

// An analyses row as to_jsonb gives it: the generated table type.
type Row = Tables<'analyses'>;

export function createAnalysesHandler(env: EnvGetter, deps: { sql?: Sql; s3?: S3Client | null } = {}): Handler {
  const platform = readPlatformConfig(env);
  const s3Config = readS3Config(env);
  const settings = readFileSettings(env);
  const sql = deps.sql ?? createSql(platform.dbUrl ?? '', { applicationName: 'strata-analyses' });
  const s3 = deps.s3 !== undefined ? deps.s3 : s3Config.configured ? createS3Client(s3Config) : null;

  const Create = z
    .object({
      kind: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'kind is lowercase letters, digits and _, such as analysis, transcript, repair_plan'),
      conversation_id: z.string().uuid().nullable().optional(),
      data: z
        .unknown()
        .refine((value) => value !== undefined, 'data is required')
        .refine((value) => !nestedDeeperThan(value, MAX_JSON_DEPTH), `data may be nested at most ${MAX_JSON_DEPTH} levels deep`),
    })
    .strict();
  const ListQuery = z
    .object({
      limit: z.coerce.number().int().min(1).max(100).default(20),
      cursor: z.string().max(200).optional(),
      kind: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/).optional(),
      conversation_id: z.string().uuid().optional(),
    })
    .strict();

  const storage = () => {
    if (!s3 || !s3Config.configured) throw errors.serviceUnavailable(s3Config.configured ? 'S3 is not available.' : s3Config.problem);
    return { s3, config: s3Config };
  };
  const idParam = (value: string | undefined) => {
    if (!isUuid(value)) throw errors.invalidId('analysis id');
    return value.toLowerCase();
  };
  const publicRow = (row: Row) => ({ ...row, size: Number(row.size) });

  const router = new Router('analyses')
    .on('POST', '/', async (request) => {
      const caller = requireUser(request);
      const input = parseOr400(Create, await readJsonBody(request, settings.analysisMaxBytes + 1024), 'analysis');
      const { s3: client, config } = storage();
      const document = JSON.stringify(input.data);
      if (new TextEncoder().encode(document).length > settings.analysisMaxBytes) {
        throw errors.payloadTooLarge(`Documents may be at most ${settings.analysisMaxBytes} bytes.`);
      }
      let stored;
      try {
        stored = await putAnalysisDocument(client, config, caller.userId, document);
      } catch (error) {
        console.error(describeS3Error('PutObject analysis', error));
        throw errors.storageUnavailable();
      }
      try {
        // Written by the server for the caller; the database checks that a
        // named conversation is the caller's (another user's id: 404, like an unused one).
        const [created] = await sql<{ row: Row }[]>`
          insert into public.analyses (id, user_id, conversation_id, kind, s3_key, size, sha256)
          values (${stored.id}, ${caller.userId}, ${input.conversation_id ?? null}, ${input.kind}, ${stored.s3_key}, ${stored.size}, ${stored.sha256})
          returning to_jsonb(analyses) as row`;
        return json({ analysis: publicRow(created!.row) } satisfies AnalysisCreated, 201);
      } catch (error) {
        // No row, no object: remove what was written.
        await client.send(new DeleteObjectCommand({ Bucket: config.bucket, Key: stored.s3_key })).catch(() => undefined);
        throw error;
      }
    })
    .on('GET', '/', async (request, _params, url) => {
      const caller = requireUser(request);
      const { limit, cursor, kind, conversation_id } = parseOr400(ListQuery, Object.fromEntries(url.searchParams), 'query');
      const after = cursor ? decodeCursor(cursor) : null;
      const rows = await asUser(sql, caller.claims, (tx) => tx<{ row: Row }[]>`
        select to_jsonb(a) as row from public.analyses a
         where ${kind ? tx`a.kind = ${kind}` : tx`true`}
           and ${conversation_id ? tx`a.conversation_id = ${conversation_id}` : tx`true`}
           and ${after ? tx`(a.created_at, a.id) < (${after[0]}::text::timestamptz, ${after[1]}::uuid)` : tx`true`}
         order by a.created_at desc, a.id desc
         limit ${limit + 1}`);
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      return json({
        analyses: page.map((r) => publicRow(r.row)),
        next_cursor: rows.length > limit && last ? encodeCursor(last.row.created_at, last.row.id) : null,
      } satisfies AnalysisPage);
    })
    .on('GET', '/:id', async (request, params) => {
      const caller = requireUser(request);
      const id = idParam(params.id);
      const [row] = await asUser(sql, caller.claims, (tx) => tx<{ row: Row }[]>`select to_jsonb(a) as row from public.analyses a where id = ${id}`);
      if (!row) throw errors.notFound('Analysis');
      const { s3: client, config } = storage();
      let text: string | null;
      try {
        text = await readAnalysisDocument(client, config, row.row.s3_key, row.row.sha256);
      } catch (error) {
        console.error(describeS3Error('GetObject analysis', error));
        throw errors.storageUnavailable();
      }
      if (text === null) throw errors.checksumMismatch('document');
      return json({ analysis: publicRow(row.row), data: JSON.parse(text) } satisfies AnalysisWithData);
    })
    .on('DELETE', '/:id', async (request, params) => {
      const caller = requireUser(request);
      const id = idParam(params.id);
      // The delete trigger turns this into an S3-first delete job.
      const found = await deleteAsUser(sql, caller.claims, 'analyses', id);
      if (!found) throw errors.notFound('Analysis');
      return json({ analysis_id: id, status: 'deleting' } satisfies AnalysisDeleteAccepted, 202);
    });

  return withHttp((request) => router.handle(request));
}
