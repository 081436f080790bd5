// Writes an archive object. Small conversations are built in memory and sent
// with one PutObject; large ones go through archive/multipart.ts, a multipart
// upload that spans as many worker invocations as it needs.
// The sha256 is of the JSON; object metadata carries it with the ids and
// dates needed to rebuild the index from S3 alone.
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import {
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { S3Config } from '../config.ts';
import { sseParams } from '../s3/client.ts';
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

export function objectMetadata(head: SnapshotHead, conversationId: string, sha256: string, archivedAt: string, formatVersion: number) {
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

export const FORMAT_VERSION = 1;


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
