// Reads an archive object back and checks it against the sha256 recorded at
// archive time. A mismatch (or a missing object) is never handed on.
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { errors } from '../http/errors.ts';
import { describeS3Error } from '../s3/objects.ts';

export async function readVerifiedArchive(
  s3: S3Client,
  bucket: string,
  key: string,
  expectedSha256: string,
  log: (message: string) => void = console.error,
): Promise<string> {
  let body: Uint8Array;
  try {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    body = await object.Body!.transformToByteArray();
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    log(describeS3Error(`GetObject ${key}`, error));
    if (status === 404) throw errors.archiveCorrupt();
    throw errors.storageUnavailable();
  }
  let json: Buffer;
  try {
    json = gunzipSync(body);
  } catch {
    throw errors.archiveCorrupt();
  }
  if (createHash('sha256').update(json).digest('hex') !== expectedSha256) throw errors.archiveCorrupt();
  return json.toString('utf8');
}
