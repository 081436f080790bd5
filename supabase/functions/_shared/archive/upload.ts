// Writes an archive object. Small conversations are built in memory and sent
// with one PutObject; large ones are read twice from the same snapshot (the
// first pass computes the sha256 that must go into the object's metadata
// before the upload starts) and gzipped straight into a multipart upload, so
// memory stays bounded by one part whatever the conversation's size.
// The sha256 is of the JSON; object metadata carries it with the ids and
// dates needed to rebuild the index from S3 alone.
import { createHash } from 'node:crypto';
import { createGzip, gzipSync } from 'node:zlib';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { S3Config } from '../config.ts';
import { writeDocument } from './document.ts';
import type { SnapshotHead, SnapshotReader } from './snapshot.ts';

type ConfiguredS3 = Extract<S3Config, { configured: true }>;

export interface StoredArchive {
  s3_key: string;
  sha256: string;
  bytes: number;
  message_count: number;
  archived_at: string;
  format_version: number;
  title: string | null;
  /** True when it was streamed as a multipart upload (else one PutObject). */
  multipart: boolean;
}

const md5Base64 = (data: Uint8Array) => createHash('md5').update(data).digest('base64');

/** S3 metadata is ASCII and at most 2 KB in all: the title is URI-encoded and capped. */
function encodeTitle(title: string | null): string {
  if (!title) return '';
  let encoded = encodeURIComponent(title);
  if (encoded.length > 1024) encoded = encoded.slice(0, 1024).replace(/%[0-9A-F]?$/i, '');
  return encoded;
}

function objectMetadata(head: SnapshotHead, conversationId: string, sha256: string, archivedAt: string, formatVersion: number) {
  return {
    'sha256': sha256,
    'message-count': String(head.messageCount),
    'format-version': String(formatVersion),
    'conversation-id': conversationId,
    'user-id': head.userId,
    'created-at': head.createdAt,
    'archived-at': archivedAt,
    'title': encodeTitle(head.title),
  };
}

const FORMAT_VERSION = 1;

const sseParams = (config: ConfiguredS3) => (config.sse === 'none' ? {} : { ServerSideEncryption: config.sse });

export interface ArchiveTarget {
  s3: S3Client;
  config: ConfiguredS3;
  key: string;
  conversationId: string;
  head: SnapshotHead;
  archivedAt: string;
}

/** Builds a small archive in memory. */
export async function buildBuffered(head: SnapshotHead, readMessages: SnapshotReader, archivedAt: string): Promise<{ json: Buffer; sha256: string; body: Buffer }> {
  const chunks: Uint8Array[] = [];
  await writeDocument(head, readMessages, archivedAt, (chunk) => void chunks.push(chunk));
  const json = Buffer.concat(chunks);
  return { json, sha256: createHash('sha256').update(json).digest('hex'), body: gzipSync(json) };
}

/** Uploads a built archive with one PutObject (after the snapshot transaction has ended). */
export async function putBuffered(target: ArchiveTarget, built: { sha256: string; body: Buffer }): Promise<StoredArchive> {
  const { s3, config, key, head, archivedAt, conversationId } = target;
  await s3.send(
    new PutObjectCommand({
      Bucket: config.bucket,
      Key: key,
      Body: built.body,
      ContentType: 'application/json',
      ContentEncoding: 'gzip',
      ContentMD5: md5Base64(built.body),
      Metadata: objectMetadata(head, conversationId, built.sha256, archivedAt, FORMAT_VERSION),
      ...sseParams(config),
    }),
  );
  return { s3_key: key, message_count: head.messageCount, archived_at: archivedAt, format_version: FORMAT_VERSION, title: head.title, sha256: built.sha256, bytes: built.body.length, multipart: false };
}

/** Streams a large archive: two passes over the same snapshot, the second gzipped into a multipart upload. */
export async function storeStreamed(target: ArchiveTarget & { readMessages: SnapshotReader; partBytes: number }): Promise<StoredArchive> {
  const { s3, config, key, head, readMessages, archivedAt, conversationId, partBytes } = target;
  const formatVersion = FORMAT_VERSION;
  const base = { s3_key: key, message_count: head.messageCount, archived_at: archivedAt, format_version: formatVersion, title: head.title };

  // Pass 1: the sha256 of the JSON, streamed.
  const hash = createHash('sha256');
  await writeDocument(head, readMessages, archivedAt, (chunk) => void hash.update(chunk));
  const sha256 = hash.digest('hex');

  // Pass 2: the same bytes, gzipped into a multipart upload.
  const { UploadId } = await s3.send(
    new CreateMultipartUploadCommand({
      Bucket: config.bucket,
      Key: key,
      ContentType: 'application/json',
      ContentEncoding: 'gzip',
      Metadata: objectMetadata(head, conversationId, sha256, archivedAt, formatVersion),
      ...sseParams(config),
    }),
  );
  const parts: Array<{ ETag: string; PartNumber: number }> = [];
  let bytes = 0;
  try {
    const gzip = createGzip();
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const uploadPart = async (data: Buffer) => {
      const PartNumber = parts.length + 1;
      const result = await s3.send(
        new UploadPartCommand({ Bucket: config.bucket, Key: key, UploadId, PartNumber, Body: data, ContentMD5: md5Base64(data) }),
      );
      parts.push({ ETag: result.ETag!, PartNumber });
      bytes += data.length;
    };
    const drained = (async () => {
      for await (const chunk of gzip as AsyncIterable<Buffer>) {
        pending.push(chunk);
        pendingBytes += chunk.length;
        if (pendingBytes >= partBytes) {
          const data = Buffer.concat(pending);
          pending = [];
          pendingBytes = 0;
          await uploadPart(data);
        }
      }
      if (pendingBytes > 0 || parts.length === 0) await uploadPart(Buffer.concat(pending));
    })();
    drained.catch(() => gzip.destroy());
    await writeDocument(head, readMessages, archivedAt, async (chunk) => {
      // Waits for room in the gzip stream, or fails at once if an upload failed.
      if (!gzip.write(chunk)) await Promise.race([new Promise<void>((resolve) => gzip.once('drain', resolve)), drained]);
    });
    gzip.end();
    await drained;
    await s3.send(
      new CompleteMultipartUploadCommand({ Bucket: config.bucket, Key: key, UploadId, MultipartUpload: { Parts: parts } }),
    );
  } catch (error) {
    await s3.send(new AbortMultipartUploadCommand({ Bucket: config.bucket, Key: key, UploadId })).catch(() => undefined);
    throw error;
  }
  return { ...base, sha256, bytes, multipart: true };
}
