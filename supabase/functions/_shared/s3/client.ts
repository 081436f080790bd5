// The S3 client, configured explicitly: no shared-config or credential file
// reads, and checksums only when the operation requires them (S3-compatible
// endpoints reject the SDK's default CRC32 trailers). Strata keeps its own
// sha256 in object metadata.
import { S3Client } from '@aws-sdk/client-s3';
import type { S3Config } from '../config.ts';

type ConfiguredS3 = Extract<S3Config, { configured: true }>;

/** Server-side encryption for every object Strata writes (S3_SSE), as command parameters. */
export const sseParams = (config: ConfiguredS3) => (config.sse === 'none' ? {} : { ServerSideEncryption: config.sse });
/** The same, as the header a presigned PUT must send. */
export const sseHeaders = (config: ConfiguredS3): Record<string, string> =>
  config.sse === 'none' ? {} : { 'x-amz-server-side-encryption': config.sse };

export function createS3Client(config: Extract<S3Config, { configured: true }>, options: { maxAttempts?: number } = {}): S3Client {
  const client = new S3Client({
    region: config.region,
    endpoint: config.endpoint,
    forcePathStyle: config.forcePathStyle,
    credentials: config.credentials,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // Workers retry through the job table; operator tools pass more attempts.
    maxAttempts: options.maxAttempts ?? 2,
    requestHandler: { requestTimeout: config.requestTimeoutMs, connectionTimeout: Math.min(5000, config.requestTimeoutMs) },
  });
  // Every call gets a deadline, whichever HTTP handler the runtime picked (the
  // handler's own timeouts are not honoured everywhere, e.g. under Deno): a
  // hanging endpoint must fail the attempt, not hold a worker forever.
  const send = client.send.bind(client) as (command: unknown, options?: { abortSignal?: AbortSignal }) => Promise<unknown>;
  client.send = ((command: unknown, options?: { abortSignal?: AbortSignal }) =>
    send(command, { abortSignal: AbortSignal.timeout(config.requestTimeoutMs), ...options })) as S3Client['send'];
  return client;
}
