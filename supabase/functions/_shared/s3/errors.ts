// The one place that reads S3 failures: their HTTP status, a safe one-line
// description for logs and job errors (operation, error name, status; never
// credentials or bodies), and the client-facing error they become.
import { errors, type AppError } from '../http/errors.ts';

/** The HTTP status S3 answered with, if it answered. */
export function s3StatusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
}

export const isS3NotFound = (error: unknown) => s3StatusOf(error) === 404 || (error as { name?: string } | null)?.name === 'NoSuchKey';

/** A multipart upload that no longer exists (aborted, or completed). */
export const isNoSuchUpload = (error: unknown) => (error as { name?: string } | null)?.name === 'NoSuchUpload';

export function describeS3Error(operation: string, error: unknown): string {
  const e = error as { name?: string; code?: string; Code?: string };
  const status = s3StatusOf(error);
  const name = e.code && /^E[A-Z]+$/.test(e.code) ? e.code : (e.name ?? e.Code ?? 'Error');
  return `S3 ${operation} failed: ${name}${status ? ` (HTTP ${status})` : ''}`;
}

/** Logs the failure and answers what a client may see: the object store is unavailable (503). */
export function storageFailure(operation: string, error: unknown, log: (line: string) => void = console.error): AppError {
  log(describeS3Error(operation, error));
  return errors.storageUnavailable();
}
