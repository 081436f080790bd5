// A large archive as a multipart upload that spans as many worker
// invocations as it needs. A hosted Edge Function instance has about 1 s of
// CPU, and a conversation of 200,000 messages (100 MB of JSON) takes several:
// so each invocation uploads parts while its budget allows, saves its
// progress in the job (upload id, parts, the last message written, the
// resumable sha256 state) and gives the job back; the next wake-up goes on
// from there. This works because a conversation pending archive is frozen:
// reading its messages in (created_at, id) order gives the same rows in
// every invocation. Each part is its own gzip member (their concatenation is
// one valid gzip stream), so no compressor state has to survive between
// invocations. The sha256 of the whole JSON is known only at the end, so it
// joins the object's metadata by copying the object onto itself.
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { constants as zlib, createGzip, type Gzip } from 'node:zlib';
import type { ClaimedJob, JobContext } from '../jobs/registry.ts';
import { ARCHIVE_FORMAT_VERSION } from './document.ts';
import { ResumableSha256, type Sha256State } from './sha256.ts';
import type { SnapshotHead } from './snapshot.ts';
import { sseParams } from '../s3/client.ts';
import { isNoSuchUpload } from '../s3/errors.ts';
import { FORMAT_VERSION, objectMetadata, type ArchiveTarget, type StoredArchive } from './upload.ts';

/** What the job's payload keeps between invocations. */
export interface MultipartProgress {
  upload_id: string;
  parts: Array<{ n: number; etag: string }>;
  /** The last message written: (created_at as Postgres prints it, id). */
  after: [string, string] | null;
  written: number;
  hash: Sha256State;
  bytes: number;
  completed: boolean;
  /** Fixed when the upload began, so every invocation writes the same document end. */
  user_email: string | null;
  message_count: number;
}

/** CPU one part may cost (about 15 MB of JSON: fetch, sha256, gzip level 1), to stop before the budget. */
const PART_CPU_MS = 300;
/**
 * Above this much JSON in one part, the rest of the part is stored
 * uncompressed until it reaches S3's minimum part size: very repetitive text
 * would otherwise need more JSON (and sha256 CPU) per part than one
 * invocation's budget allows (bench/archive row 9).
 */
const PART_RAW_CAP = 16 * 1024 * 1024;
const BATCH = 1000;
const encoder = new TextEncoder();
const md5Base64 = (data: Uint8Array) => createHash('md5').update(data).digest('base64');

export type MultipartOutcome = { stored: StoredArchive } | { yielded: true } | { lost: true };

export async function continueMultipart(
  ctx: JobContext,
  job: ClaimedJob,
  target: ArchiveTarget,
  partBytes: number,
): Promise<MultipartOutcome> {
  const { sql, s3, workerId } = ctx;
  const { config, key, head, archivedAt, conversationId } = target;
  const checkpoint = async (progress: MultipartProgress) => {
    const [{ saved }] = await sql<{ saved: boolean }[]>`
      select private.checkpoint_job(${job.job_id}, ${workerId}, ${sql.json({ multipart: progress } as never)}, ${ctx.settings.leaseSeconds}) as saved`;
    return saved;
  };

  // A new upload, recorded in the job before any part is sent.
  const begin = async (): Promise<MultipartProgress | null> => {
    const metadata = objectMetadata(head, conversationId, 'pending', archivedAt, FORMAT_VERSION);
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({
      Bucket: config.bucket, Key: key, ContentType: 'application/json', ContentEncoding: 'gzip', Metadata: metadata, ...sseParams(config),
    }));
    const fresh: MultipartProgress = {
      upload_id: UploadId!, parts: [], after: null, written: 0, hash: new ResumableSha256().save(), bytes: 0, completed: false,
      user_email: head.userEmail, message_count: head.messageCount,
    };
    if (await checkpoint(fresh)) return fresh;
    await s3.send(new AbortMultipartUploadCommand({ Bucket: config.bucket, Key: key, UploadId })).catch(() => undefined);
    return null;
  };
  // The upload is gone with its parts: aborted by the bucket's rule for
  // incomplete uploads (a job retried for days) or by hand. Start again,
  // once per invocation: an endpoint that keeps answering so is a failure.
  let restarted = false;
  const restart = async () => {
    if (restarted) throw new Error('S3 UploadPart failed: NoSuchUpload again for a new upload');
    restarted = true;
    ctx.log(`archive ${conversationId}: multipart upload ${progress!.upload_id} no longer exists (NoSuchUpload); starting it again`);
    return await begin();
  };

  let progress: MultipartProgress | null = (job.payload?.multipart as MultipartProgress | undefined) ?? (await begin());
  if (!progress) return { lost: true };

  let hash = new ResumableSha256(progress.hash);
  let partsHere = 0;
  while (!progress.completed) {
    // Every invocation with any budget left uploads at least one part, so the
    // archive always moves forward; after that, a part must fit in what is left.
    if (!ctx.budget.fits(partsHere === 0 ? 0 : PART_CPU_MS)) {
      // Out of budget: the progress is saved; give the job back for the next invocation.
      await sql`select private.release_jobs(${workerId}, ${[job.job_id]}::bigint[])`;
      return { yielded: true };
    }
    const part = await buildPart(ctx, conversationId, head, archivedAt, progress, hash, partBytes);
    const n: number = progress.parts.length + 1;
    let etag: string;
    try {
      const { ETag } = await s3.send(new UploadPartCommand({
        Bucket: config.bucket, Key: key, UploadId: progress.upload_id, PartNumber: n, Body: part.body, ContentMD5: md5Base64(part.body),
      }));
      etag = ETag!;
    } catch (error) {
      if (!isNoSuchUpload(error)) throw error;
      progress = await restart();
      if (!progress) return { lost: true };
      hash = new ResumableSha256(progress.hash);
      continue;
    }
    progress = {
      ...progress,
      parts: [...progress.parts, { n, etag }],
      after: part.after, written: part.written, hash: hash.save(), bytes: progress.bytes + part.body.length,
    };
    partsHere++;
    if (part.last) {
      if (!(await completeUpload(ctx, target, progress))) {
        progress = await restart();
        if (!progress) return { lost: true };
        hash = new ResumableSha256(progress.hash);
        continue;
      }
      progress = { ...progress, completed: true };
    }
    if (!(await checkpoint(progress))) return { lost: true };
  }

  // The whole JSON is hashed now: its sha256 joins the object's metadata.
  const sha256 = hash.hex();
  await s3.send(new CopyObjectCommand({
    Bucket: config.bucket, Key: key, CopySource: `${config.bucket}/${key.split('/').map(encodeURIComponent).join('/')}`,
    MetadataDirective: 'REPLACE', Metadata: objectMetadata(head, conversationId, sha256, archivedAt, FORMAT_VERSION),
    ContentType: 'application/json', ContentEncoding: 'gzip', ...sseParams(config),
  }));
  return {
    stored: {
      s3_key: key, sha256, bytes: progress.bytes, message_count: progress.message_count, archived_at: archivedAt,
      format_version: FORMAT_VERSION, title: head.title, multipart: true,
    },
  };
}

/** Completes the upload; false when the upload is gone and no complete object stands in its place. */
async function completeUpload(ctx: JobContext, target: ArchiveTarget, progress: MultipartProgress): Promise<boolean> {
  const { s3 } = ctx;
  const { config, key } = target;
  try {
    await s3.send(new CompleteMultipartUploadCommand({
      Bucket: config.bucket, Key: key, UploadId: progress.upload_id,
      MultipartUpload: { Parts: progress.parts.map((p) => ({ PartNumber: p.n, ETag: p.etag })) },
    }));
    return true;
  } catch (error) {
    // Completed by an invocation that died before it could record it: the object is there.
    const head = await s3.send(new HeadObjectCommand({ Bucket: config.bucket, Key: key })).catch(() => null);
    if (head && Number(head.ContentLength) === progress.bytes) return true;
    if (isNoSuchUpload(error)) return false;
    throw error;
  }
}

/**
 * One part: the next messages after `progress.after`, as JSON, gzipped as its
 * own member, until it is at least `partBytes` compressed (S3's minimum is 5
 * MiB for every part but the last) or the messages end (then the document's
 * end is written and this is the last part). The same progress always
 * gives the same JSON, so a part re-sent after a crash replaces its copy
 * with the same content (the sha256 is of the JSON, not of the gzip bytes).
 */
async function buildPart(
  ctx: JobContext,
  conversationId: string,
  head: SnapshotHead,
  archivedAt: string,
  progress: MultipartProgress,
  hash: ResumableSha256,
  partBytes: number,
): Promise<{ body: Buffer; after: [string, string] | null; written: number; last: boolean }> {
  const { sql } = ctx;
  const chunks: Buffer[] = [];
  let compressed = 0;
  let raw = 0;
  const member = (level: number) => {
    const gzip = createGzip({ level });
    gzip.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      compressed += chunk.length;
    });
    return gzip;
  };
  const close = (gzip: Gzip) => new Promise<void>((resolve, reject) => gzip.once('end', resolve).once('error', reject).end());
  let gzip = member(1);
  let storing = false;
  const write = async (text: string) => {
    const bytes = encoder.encode(text);
    hash.update(bytes);
    raw += bytes.length;
    if (!gzip.write(bytes)) await new Promise((resolve) => gzip.once('drain', resolve));
  };

  let { after, written } = progress;
  if (written === 0 && progress.parts.length === 0) {
    await write(`{"format_version":${ARCHIVE_FORMAT_VERSION},"conversation":${head.conversationJson},"messages":[`);
  }
  let last = false;
  while (compressed < partBytes) {
    const rows = await sql<{ j: string; at: string; id: string }[]>`
      select to_jsonb(m)::text as j, to_jsonb(m) ->> 'created_at' as at, m.id
        from public.messages m
       where m.conversation_id = ${conversationId}
         and ${after ? sql`(m.created_at, m.id) > (${after[0]}::text::timestamptz, ${after[1]}::uuid)` : sql`true`}
       order by m.created_at, m.id
       limit ${BATCH}`;
    if (rows.length === 0) {
      const metadata = { archived_at: archivedAt, message_count: progress.message_count, user_id: head.userId, user_email: progress.user_email };
      await write(`],"archive_metadata":${JSON.stringify(metadata)}}`);
      last = true;
      break;
    }
    await write((written === 0 ? '' : ',') + rows.map((row) => row.j).join(','));
    written += rows.length;
    after = [rows[rows.length - 1]!.at, rows[rows.length - 1]!.id];
    if (!storing && raw >= PART_RAW_CAP) {
      // Text this repetitive would need too much CPU to reach the part size compressed.
      await close(gzip);
      gzip = member(0);
      storing = true;
    }
    // Let the compressor catch up so `compressed` is current.
    await new Promise<void>((resolve) => gzip.flush(zlib.Z_SYNC_FLUSH, () => resolve()));
  }
  await close(gzip);
  return { body: Buffer.concat(chunks), after, written, last };
}
