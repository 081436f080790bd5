// The S3 client, configured explicitly: no shared-config or credential file
// reads, and checksums only when the operation requires them (S3-compatible
// endpoints reject the SDK's default CRC32 trailers). Strata keeps its own
// sha256 in object metadata.
import { S3Client } from '@aws-sdk/client-s3';
import type { S3Config } from '../config.ts';

export function createS3Client(config: Extract<S3Config, { configured: true }>): S3Client {
  return new S3Client({
    region: config.region,
    endpoint: config.endpoint,
    forcePathStyle: config.forcePathStyle,
    credentials: config.credentials,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 2,
    requestHandler: { requestTimeout: config.requestTimeoutMs, connectionTimeout: Math.min(5000, config.requestTimeoutMs) },
  });
}
