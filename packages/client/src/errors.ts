// The client's one error type: the API's { error: { code, message } } (or the
// runtime's own { code, message }, e.g. 546 WORKER_RESOURCE_LIMIT) with
// the HTTP status, or a network failure (code 'network_error', status 0).
export class StrataError extends Error {
  override readonly name = 'StrataError' as const;
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export const isStrataError = (error: unknown): error is StrataError =>
  error instanceof Error && (error as { name?: string }).name === 'StrataError';
