// Writing and reading analysis documents: S3 first (the JSON, its sha256 in
// the row and in the object's metadata), then the row; reads are verified.
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import type { S3Config } from '../config.ts';
import { sseParams } from '../s3/client.ts';
import { isS3NotFound } from '../s3/errors.ts';
import { analysisKey } from '../s3/keys.ts';

type ConfiguredS3 = Extract<S3Config, { configured: true }>;

export interface StoredDocument {
  id: string;
  s3_key: string;
  size: number;
  sha256: string;
}

export async function putAnalysisDocument(
  s3: S3Client,
  config: ConfiguredS3,
  userId: string,
  body: string,
  options: { id?: string; at?: Date } = {},
): Promise<StoredDocument> {
  const id = options.id ?? crypto.randomUUID();
  const key = analysisKey(config.prefix, userId, id, options.at ?? new Date());
  const bytes = new TextEncoder().encode(body);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  await s3.send(
    new PutObjectCommand({
      Bucket: config.bucket,
      Key: key,
      Body: bytes,
      ContentType: 'application/json',
      ContentMD5: createHash('md5').update(bytes).digest('base64'),
      Metadata: { sha256, 'user-id': userId, 'analysis-id': id },
      ...sseParams(config),
    }),
  );
  return { id, s3_key: key, size: bytes.length, sha256 };
}

/** The document's text, or null when the object is missing or does not match its sha256. */
export async function readAnalysisDocument(s3: S3Client, config: ConfiguredS3, key: string, sha256: string): Promise<string | null> {
  try {
    const object = await s3.send(new GetObjectCommand({ Bucket: config.bucket, Key: key }));
    const bytes = await object.Body!.transformToByteArray();
    return createHash('sha256').update(bytes).digest('hex') === sha256 ? new TextDecoder().decode(bytes) : null;
  } catch (error) {
    if (isS3NotFound(error)) return null;
    throw error;
  }
}
