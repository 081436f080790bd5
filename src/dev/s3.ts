// A local S3 endpoint: s3rver with objects on disk. It accepts the access key
// S3RVER / S3RVER and ignores versioning, lifecycle, encryption and
// If-None-Match, which the README lists as local limits. Listings past 1,000
// keys page with tokens of our own (s3rver-tokens.ts).
import { PutBucketCorsCommand } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { mkdir, unlink } from 'node:fs/promises';
import { createS3Client } from '../../supabase/functions/_shared/s3/client.ts';
import { browserUploadCors } from '../ops/bucket-setup.ts';
import { useContinuationTokens } from './s3rver-tokens.ts';
import { useMultipartUploads } from './s3rver-uploads.ts';

export const LOCAL_S3_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;
export const LOCAL_S3_REGION = 'us-east-1';

export interface S3Handle {
  endpoint: string;
  port: number;
  bucket: string;
  /** Stops the server; objects stay on disk. */
  stop(): Promise<void>;
  /** Starts it again on the same port (used to inject S3 outages). */
  start(): Promise<void>;
  readonly running: boolean;
}

/**
 * s3rver removes a folder when its last object is deleted. A PutObject into
 * the same folder at that moment (a new archive generation of a conversation
 * while the old one's object is deleted) then fails to open its file, and
 * s3rver leaves that stream's error unhandled, which ends the whole process.
 * Real S3 has no folders; here deletes only remove the object's files, and
 * empty folders stay (listings are built from objects, so they never show).
 */
function keepDirectories(instance: S3rver): void {
  const store = (instance as unknown as { store: { getResourcePath(bucket: string, key: string, resource: string): string; deleteObject(bucket: string, key: string): Promise<void> } }).store;
  store.deleteObject = async (bucket: string, key: string) => {
    await Promise.all(
      ['object', 'object.md5', 'metadata.json'].map((resource) =>
        unlink(store.getResourcePath(bucket, key, resource)).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== 'ENOENT') throw error;
        }),
      ),
    );
  };
}

/**
 * Lets browsers upload with presigned PUTs (and read presigned GETs): the CORS
 * rule `strata bucket setup` puts on a deployment's bucket, here for any
 * origin (a dev server's port is anyone's guess), set through the S3 API as
 * there. s3rver keeps it on disk with the bucket.
 */
async function allowBrowserUploads(endpoint: string, bucket: string): Promise<void> {
  const client = createS3Client({
    configured: true, bucket, region: LOCAL_S3_REGION, prefix: '', endpoint, forcePathStyle: true, sse: 'none',
    credentials: { ...LOCAL_S3_CREDENTIALS }, requestTimeoutMs: 10_000,
  });
  try {
    await client.send(new PutBucketCorsCommand({ Bucket: bucket, CORSConfiguration: browserUploadCors(['*']) }));
  } finally {
    client.destroy();
  }
}

export async function startS3(options: {
  directory: string;
  port: number;
  bucket: string;
  log: (line: string) => void;
}): Promise<S3Handle> {
  const { directory, port, bucket, log } = options;
  await mkdir(directory, { recursive: true });
  let server: S3rver | null = null;

  const start = async () => {
    if (server) return;
    const instance = new S3rver({
      address: '127.0.0.1',
      port,
      directory,
      silent: true,
      vhostBuckets: false,
      configureBuckets: [{ name: bucket, configs: [] }],
    });
    // s3rver's own continuation tokens need DES, which Node's OpenSSL 3 refuses.
    useContinuationTokens(instance);
    // s3rver has no abort and no NoSuchUpload; S3 has both.
    useMultipartUploads(instance);
    keepDirectories(instance);
    await instance.run();
    server = instance;
  };
  const stop = async () => {
    const instance = server;
    server = null;
    if (instance) await instance.close();
  };

  await start();
  const endpoint = `http://127.0.0.1:${port}`;
  await allowBrowserUploads(endpoint, bucket);
  log(`s3rver serving bucket "${bucket}" from ${directory} (CORS: browser uploads from any origin)`);
  return {
    endpoint,
    port,
    bucket,
    stop,
    start,
    get running() {
      return server !== null;
    },
  };
}
