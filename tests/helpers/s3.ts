import { S3Client } from '@aws-sdk/client-s3';
import { inject } from 'vitest';

let client: S3Client | null = null;

/** An S3 client straight to the S3 server (not through the fault proxy). */
export function directS3(): { s3: S3Client; bucket: string } {
  const stack = inject('stack');
  client ??= new S3Client({
    region: stack.s3Region,
    endpoint: stack.s3Endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: stack.s3AccessKeyId, secretAccessKey: stack.s3SecretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return { s3: client, bucket: stack.s3Bucket };
}
