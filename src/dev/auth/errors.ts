// GoTrue's errors, as the local Auth stand-in answers them. GoTrue renders an
// HTTPError in one of two shapes, chosen by the request's
// X-Supabase-Api-Version header (supabase-js sends 2024-01-01):
//   2024-01-01 and later: { code: "<error_code>", message }  (and echoes the header)
//   no or an older header: { code: <status>, error_code, msg }
// Both carry the x-sb-error-code header. supabase-js's AuthApiError takes its
// message from msg or message and its code from either shape.
// Source: supabase/auth internal/api/errors.go, apierrors/, apiversions.go.

export type GoTrueErrorCode =
  | 'unexpected_failure'
  | 'validation_failed'
  | 'bad_json'
  | 'bad_jwt'
  | 'no_authorization'
  | 'user_not_found'
  | 'session_not_found'
  | 'session_expired'
  | 'refresh_token_not_found'
  | 'refresh_token_already_used'
  | 'user_banned'
  | 'user_already_exists'
  | 'email_not_confirmed'
  | 'phone_provider_disabled'
  | 'invalid_credentials'
  | 'weak_password'
  | 'request_entity_too_large'
  | 'feature_disabled'
  | 'unknown'
  /** OAuth2-style errors ({ error, error_description }, always 400). */
  | 'invalid_request';

export class GoTrueError extends Error {
  override readonly name = 'GoTrueError' as const;
  constructor(
    readonly status: number,
    readonly code: GoTrueErrorCode,
    message: string,
    /** Extra top-level fields (weak_password: { reasons }). */
    readonly extra?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export const isGoTrueError = (error: unknown): error is GoTrueError =>
  error instanceof Error && (error as { name?: string }).name === 'GoTrueError';

/** GoTrue's messages, word for word where GoTrue has one. */
export const goTrueErrors = {
  badJson: (detail: string) => new GoTrueError(400, 'bad_json', `Could not parse request body as JSON: ${detail}`),
  validation: (message: string) => new GoTrueError(400, 'validation_failed', message),
  invalidCredentials: () => new GoTrueError(400, 'invalid_credentials', 'Invalid login credentials'),
  unsupportedGrantType: () => new GoTrueError(400, 'invalid_credentials', 'unsupported_grant_type'),
  emailNotConfirmed: () => new GoTrueError(400, 'email_not_confirmed', 'Email not confirmed'),
  userBanned: (message = 'User is banned') => new GoTrueError(400, 'user_banned', message),
  userAlreadyExists: () => new GoTrueError(422, 'user_already_exists', 'User already registered'),
  weakPassword: (message: string, reasons: string[]) => new GoTrueError(422, 'weak_password', message, { weak_password: { reasons } }),
  phoneDisabled: (what: 'signups' | 'logins') =>
    new GoTrueError(what === 'signups' ? 400 : 422, 'phone_provider_disabled', `Phone ${what} are disabled (the local stack has no SMS provider)`),
  noAuthorization: () => new GoTrueError(401, 'no_authorization', 'This endpoint requires a valid Bearer token'),
  badJwt: (message: string, status = 403) => new GoTrueError(status, 'bad_jwt', message),
  userNotFound: () => new GoTrueError(403, 'user_not_found', 'User from sub claim in JWT does not exist'),
  sessionNotFound: () => new GoTrueError(403, 'session_not_found', 'Session from session_id claim in JWT does not exist'),
  refreshTokenRequired: () => new GoTrueError(400, 'invalid_request', 'refresh_token required'),
  refreshTokenNotFound: () => new GoTrueError(400, 'refresh_token_not_found', 'Invalid Refresh Token: Refresh Token Not Found'),
  refreshTokenAlreadyUsed: () => new GoTrueError(400, 'refresh_token_already_used', 'Invalid Refresh Token: Already Used'),
  refreshNoSession: () => new GoTrueError(400, 'session_not_found', 'Invalid Refresh Token: No Valid Session Found'),
  sessionExpired: () => new GoTrueError(400, 'session_expired', 'Invalid Refresh Token: Session Expired'),
  tooLarge: (limit: number) => new GoTrueError(413, 'request_entity_too_large', `Request body too large (max ${limit} bytes)`),
  methodNotAllowed: (method: string, path: string) => new GoTrueError(405, 'unknown', `${method} is not allowed on ${path}`),
  notServedLocally: (message: string) => new GoTrueError(404, 'feature_disabled', message),
  internal: (message: string) => new GoTrueError(500, 'unexpected_failure', message),
};

const API_VERSION_2024 = '2024-01-01';

/** GoTrue's DetermineClosestAPIVersion: a date on or after 2024-01-01 selects the new shape. */
function selectsNewShape(header: string | undefined): boolean {
  if (!header || !/^\d{4}-\d{2}-\d{2}$/.test(header)) return false;
  const parsed = Date.parse(`${header}T00:00:00Z`);
  return Number.isFinite(parsed) && parsed >= Date.parse(`${API_VERSION_2024}T00:00:00Z`);
}

export function renderGoTrueError(
  error: GoTrueError,
  apiVersionHeader: string | undefined,
): { status: number; headers: Record<string, string>; body: Record<string, unknown> } {
  if (error.code === 'invalid_request') {
    return { status: 400, headers: {}, body: { error: error.code, error_description: error.message } };
  }
  const headers: Record<string, string> = { 'x-sb-error-code': error.code };
  if (selectsNewShape(apiVersionHeader)) {
    headers['x-supabase-api-version'] = API_VERSION_2024;
    return { status: error.status, headers, body: { code: error.code, message: error.message, ...error.extra } };
  }
  return { status: error.status, headers, body: { code: error.status, error_code: error.code, msg: error.message, ...error.extra } };
}
