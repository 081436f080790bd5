// The one catalogue of errors a client can see. Every error response is
// { "error": { "code", "message" } } with the status listed here; handlers
// throw AppError and http/respond.ts renders it.

export const ERROR_STATUS = {
  invalid_request: 400,
  invalid_json: 400,
  invalid_id: 400,
  ttl_too_long: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  archive_not_ready: 409,
  quota_exceeded: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  archive_corrupt: 422,
  upload_rejected: 422,
  upload_missing: 409,
  checksum_mismatch: 422,
  service_unavailable: 503,
  storage_unavailable: 503,
  internal_error: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class AppError extends Error {
  override readonly name = 'AppError' as const;
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.status = ERROR_STATUS[code];
  }
}

export const isAppError = (error: unknown): error is AppError =>
  error instanceof Error && (error as { name?: string }).name === 'AppError';

export const errors = {
  invalidRequest: (message: string, details?: unknown) => new AppError('invalid_request', message, details),
  invalidJson: () => new AppError('invalid_json', 'The request body is not valid JSON.'),
  invalidId: (what: string) => new AppError('invalid_id', `The ${what} is not a valid UUID.`),
  unauthorized: (message = 'A valid access token is required.') => new AppError('unauthorized', message),
  forbidden: (message = 'You may not do this.') => new AppError('forbidden', message),
  notFound: (what: string) => new AppError('not_found', `${what} was not found.`),
  methodNotAllowed: (method: string, allowed: string[]) =>
    new AppError('method_not_allowed', `${method} is not allowed here; use ${allowed.join(', ')}.`, { allowed }),
  conflict: (message: string) => new AppError('conflict', message),
  ttlTooLong: (message: string) => new AppError('ttl_too_long', message),
  quotaExceeded: (message: string) => new AppError('quota_exceeded', message),
  payloadTooLarge: (message: string) => new AppError('payload_too_large', message),
  serviceUnavailable: (message: string) => new AppError('service_unavailable', message),
  storageUnavailable: (message = 'The object store is not reachable; try again later.') =>
    new AppError('storage_unavailable', message),
  archiveNotReady: (status: string) =>
    new AppError('archive_not_ready', `The archive is not stored yet (it is ${status}).`, { status }),
  archiveCorrupt: () =>
    new AppError('archive_corrupt', 'The stored archive does not match its checksum; it was not used.'),
  unsupportedMediaType: (message: string) => new AppError('unsupported_media_type', message),
  uploadMissing: () => new AppError('upload_missing', 'The file has not been uploaded yet; PUT it to the upload URL first.'),
  uploadRejected: (reason: string) => new AppError('upload_rejected', `The upload was rejected: ${reason}. The object was removed.`, { reason }),
  checksumMismatch: (what: string) => new AppError('checksum_mismatch', `The stored ${what} does not match its checksum.`),
  internal: () => new AppError('internal_error', 'Something went wrong on our side.'),
};
