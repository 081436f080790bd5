// The local Auth stand-in: the GoTrue routes supabase-js's e-mail and password
// flows call, on /auth/v1 of the local API, backed by the auth tables as
// GoTrue writes them (store.ts) and answering in GoTrue's shapes:
//
//   POST /auth/v1/signup                           { email, password, data? }   → session (auto-confirmed)
//   POST /auth/v1/token?grant_type=password        { email, password }          → session
//   POST /auth/v1/token?grant_type=refresh_token   { refresh_token }            → session (token rotated)
//   GET  /auth/v1/user                             Bearer access token          → the user
//   POST /auth/v1/logout?scope=global|local|others Bearer access token          → 204
//   GET  /auth/v1/settings, GET /auth/v1/health
//
// Every other route answers GoTrue's 404 feature_disabled saying what the
// local stack does not serve. Settings are those of supabase/config.toml's
// [auth] section as this project sets them (see AUTH_SETTINGS).
// Source: supabase/auth internal/api/{signup,token,user,logout,auth,settings}.go.
import { isIP } from 'node:net';
import type http from 'node:http';
import postgres from 'postgres';
import { verifyJwt } from '../../auth/jwt.ts';
import { BodyTooLargeError, readBody, sendJson } from '../local-http.ts';
import { goTrueErrors, GoTrueError, isGoTrueError, renderGoTrueError } from './errors.ts';
import {
  createEmailUser,
  createSession,
  endSessions,
  findPasswordUser,
  findUserByEmail,
  loadUser,
  refreshSession,
  sessionAmr,
  sessionExists,
  type AuthUser,
  type ClientInfo,
} from './store.ts';
import { tokenResponse, type TokenSettings } from './tokens.ts';

/** supabase/config.toml [auth] as this project sets it (GoTrue's defaults for a local project). */
export const AUTH_SETTINGS = {
  enableSignup: true,
  /** [auth.email] enable_confirmations = false: sign-ups are confirmed at once. */
  mailerAutoconfirm: true,
  minimumPasswordLength: 6,
  refreshTokenReuseIntervalSeconds: 10,
  /** GoTrue's default audience and role for new users. */
  audience: 'authenticated',
  defaultRole: 'authenticated',
} as const;

const MAX_BODY_BYTES = 1024 * 1024;
const MAX_PASSWORD_LENGTH = 72; // bcrypt's limit
const SERVED = 'e-mail and password sign-up, sign-in, token refresh, the current user and sign-out';

// GoTrue's features the local stack does not serve, by first path segment.
const FEATURES: Record<string, string> = {
  otp: 'one-time passwords and magic links',
  magiclink: 'magic links',
  verify: 'e-mail and phone verification',
  recover: 'password recovery',
  resend: 'resending e-mails and SMS',
  invite: 'invitations',
  authorize: 'OAuth sign-in',
  callback: 'OAuth sign-in',
  factors: 'multi-factor authentication',
  reauthenticate: 'reauthentication',
  sso: 'single sign-on',
  saml: 'single sign-on',
  admin: 'the Auth admin API',
  passkeys: 'passkeys',
  oauth: 'the OAuth 2.1 server',
  '.well-known': 'JWKS and OpenID discovery (tokens are HS256 with the project secret)',
  jwks: 'JWKS',
};

function notServed(method: string, path: string, feature?: string): GoTrueError {
  const what = feature ?? FEATURES[path.split('/')[1] ?? ''] ?? 'this route';
  return goTrueErrors.notServedLocally(
    `${method} /auth/v1${path} is not available locally: Strata's local Auth serves ${SERVED} only. ` +
      `Use a hosted project or \`supabase start\` for ${what}.`,
  );
}

type Json = Record<string, unknown>;

function parseJsonBody(text: string, fields: Record<string, 'string' | 'object'>): Json {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw goTrueErrors.badJson(text.trim() === '' ? 'unexpected end of JSON input' : (error as Error).message);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw goTrueErrors.badJson(`cannot unmarshal ${Array.isArray(value) ? 'array' : typeof value} into an object`);
  }
  const body = value as Json;
  for (const [field, type] of Object.entries(fields)) {
    const v = body[field];
    if (v === undefined || v === null) continue;
    const ok = type === 'string' ? typeof v === 'string' : typeof v === 'object' && !Array.isArray(v);
    if (!ok) throw goTrueErrors.badJson(`cannot unmarshal ${Array.isArray(v) ? 'array' : typeof v} into field ${field} of type ${type}`);
  }
  return body;
}

const str = (value: unknown): string => (typeof value === 'string' ? value : '');

// checkmail.ValidateFormat's pattern, as GoTrue's validateEmail uses it.
const EMAIL_FORMAT =
  /^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;

function validateEmail(email: string): string {
  if (email === '') throw goTrueErrors.validation('An email address is required');
  if (Buffer.byteLength(email) > 255) throw goTrueErrors.validation('An email address is too long');
  if (!EMAIL_FORMAT.test(email)) throw goTrueErrors.validation('Unable to validate email address: invalid format');
  return email.toLowerCase();
}

// Go's len(): bytes, not characters.
function checkPasswordStrength(password: string): void {
  const length = Buffer.byteLength(password);
  if (length > MAX_PASSWORD_LENGTH) {
    throw goTrueErrors.validation(`Password cannot be longer than ${MAX_PASSWORD_LENGTH} characters`);
  }
  if (length < AUTH_SETTINGS.minimumPasswordLength) {
    throw goTrueErrors.weakPassword(`Password should be at least ${AUTH_SETTINGS.minimumPasswordLength} characters.`, ['length']);
  }
}

function clientInfo(request: http.IncomingMessage): ClientInfo {
  const forwarded = String(request.headers['x-forwarded-for'] ?? '').split(',')[0]?.trim() ?? '';
  const remote = (request.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
  const ip = isIP(forwarded) ? forwarded : isIP(remote) ? remote : null;
  const userAgent = request.headers['user-agent'];
  return { userAgent: userAgent ? String(userAgent) : null, ip };
}

/** The JWT's audience: GoTrue compares the first entry with the request's (X-JWT-AUD or the default). */
function firstAudience(aud: unknown): string | undefined {
  if (typeof aud === 'string') return aud;
  if (Array.isArray(aud) && typeof aud[0] === 'string') return aud[0];
  return undefined;
}

const JWT_REASONS = {
  malformed: 'token is malformed: could not JSON decode the token',
  bad_signature: 'token signature is invalid: signature is invalid',
  expired: 'token has invalid claims: token is expired',
  unsupported_algorithm: 'token is unverifiable: error while executing keyfunc: the only algorithm accepted locally is HS256',
} as const;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface AuthRoutes {
  /** Answers a request whose path starts with /auth/v1. */
  handle(request: http.IncomingMessage, response: http.ServerResponse, url: URL): Promise<void>;
  stop(): Promise<void>;
}

export function createAuthRoutes(options: {
  dbUrl: string;
  jwtSecret: string;
  /** The API URL the clients use; the issuer is `<apiUrl>/auth/v1`. */
  apiUrl: string;
  jwtExpirySeconds: number;
  log: (line: string) => void;
}): AuthRoutes {
  const sql = postgres(options.dbUrl, { max: 4, onnotice: () => {}, connection: { application_name: 'strata-dev-auth' } });
  const tokens: TokenSettings = { jwtSecret: options.jwtSecret, issuer: `${options.apiUrl}/auth/v1`, expirySeconds: options.jwtExpirySeconds };

  async function session(userId: string, sessionId: string, refreshToken: string): Promise<Json> {
    const user = await loadUser(sql, userId);
    if (!user) throw goTrueErrors.internal('Database error loading user after sign-in');
    return tokenResponse(user, { id: sessionId, amr: await sessionAmr(sql, sessionId), refreshToken }, tokens);
  }

  // POST /signup (Signup): e-mail and password; confirmed at once, answered with a session.
  async function signup(request: http.IncomingMessage): Promise<Json> {
    if (!AUTH_SETTINGS.enableSignup) throw new GoTrueError(422, 'unknown', 'Signups not allowed for this instance');
    const body = parseJsonBody(await readBody(request, MAX_BODY_BYTES), { email: 'string', phone: 'string', password: 'string', data: 'object' });
    const password = str(body.password);
    if (password === '') throw goTrueErrors.validation('Signup requires a valid password');
    checkPasswordStrength(password);
    const rawEmail = str(body.email);
    const phone = str(body.phone);
    if (rawEmail !== '' && phone !== '') throw goTrueErrors.validation('Only an email address or phone number should be provided on signup.');
    if (phone !== '') throw goTrueErrors.phoneDisabled('signups');
    if (rawEmail === '') throw goTrueErrors.validation('Sign up only available with email provider');
    const email = validateEmail(rawEmail);
    const data = (body.data as Json | undefined) ?? {};

    const created = await sql.begin(async (tx) => {
      // A user with this e-mail, confirmed or not, is "already registered"
      // (GoTrue would confirm an unconfirmed one and sign it in; see the README).
      if (await findUserByEmail(tx, email, AUTH_SETTINGS.audience)) return null;
      const id = await createEmailUser(tx, { email, password, aud: AUTH_SETTINGS.audience, role: AUTH_SETTINGS.defaultRole, data });
      if (!id) return null;
      return { id, ...(await createSession(tx, id, 'password', clientInfo(request))) };
    });
    if (!created) throw goTrueErrors.userAlreadyExists();
    return session(created.id, created.sessionId, created.refreshToken);
  }

  // POST /token?grant_type=password (ResourceOwnerPasswordGrant).
  async function passwordGrant(request: http.IncomingMessage): Promise<Json> {
    const body = parseJsonBody(await readBody(request, MAX_BODY_BYTES), { email: 'string', phone: 'string', password: 'string' });
    const email = str(body.email);
    const phone = str(body.phone);
    if (email !== '' && phone !== '') throw goTrueErrors.validation('Only an email address or phone number should be provided on login.');
    if (phone !== '') throw goTrueErrors.phoneDisabled('logins');
    if (email === '') throw goTrueErrors.validation('missing email or phone');
    const user = await findPasswordUser(sql, email, AUTH_SETTINGS.audience, str(body.password));
    if (!user || !user.hasPassword) throw goTrueErrors.invalidCredentials();
    if (user.banned) throw goTrueErrors.userBanned();
    if (!user.passwordMatches) throw goTrueErrors.invalidCredentials();
    if (!user.confirmed) throw goTrueErrors.emailNotConfirmed();
    const issued = await sql.begin((tx) => createSession(tx, user.id, 'password', clientInfo(request)));
    return session(user.id, issued.sessionId, issued.refreshToken);
  }

  // POST /token?grant_type=refresh_token (RefreshTokenGrant, table-backed tokens).
  async function refreshGrant(request: http.IncomingMessage): Promise<Json> {
    const body = parseJsonBody(await readBody(request, MAX_BODY_BYTES), { refresh_token: 'string' });
    const token = str(body.refresh_token);
    if (token === '') throw goTrueErrors.refreshTokenRequired();
    const outcome = await sql.begin((tx) => refreshSession(tx, token, clientInfo(request), AUTH_SETTINGS.refreshTokenReuseIntervalSeconds));
    if (!outcome.ok) {
      switch (outcome.reason) {
        case 'not_found':
          throw goTrueErrors.refreshTokenNotFound();
        case 'no_session':
          throw goTrueErrors.refreshNoSession();
        case 'banned':
          throw goTrueErrors.userBanned('Invalid Refresh Token: User Banned');
        case 'session_expired':
          throw goTrueErrors.sessionExpired();
        case 'already_used':
          throw goTrueErrors.refreshTokenAlreadyUsed();
      }
    }
    return session(outcome.userId, outcome.sessionId, outcome.refreshToken);
  }

  // requireAuthentication: a valid HS256 token for an existing user and, when
  // it names one, an existing session.
  async function authenticate(request: http.IncomingMessage): Promise<{ user: AuthUser; claims: Json; sessionId: string | null }> {
    const match = /^Bearer\s+(\S+)$/i.exec(String(request.headers.authorization ?? ''));
    if (!match) throw goTrueErrors.noAuthorization();
    const verdict = verifyJwt(match[1]!, options.jwtSecret);
    if (!verdict.ok) throw goTrueErrors.badJwt(`invalid JWT: unable to parse or verify signature, ${JWT_REASONS[verdict.reason]}`);
    const claims = verdict.claims as Json;
    const sub = typeof claims.sub === 'string' ? claims.sub : '';
    if (sub === '') throw goTrueErrors.badJwt('invalid claim: missing sub claim');
    if (!UUID.test(sub)) throw goTrueErrors.badJwt('invalid claim: sub claim must be a UUID', 400);
    const user = await loadUser(sql, sub);
    if (!user) throw goTrueErrors.userNotFound();
    let sessionId: string | null = null;
    const claimed = typeof claims.session_id === 'string' ? claims.session_id : '';
    if (claimed !== '' && claimed !== '00000000-0000-0000-0000-000000000000') {
      if (!UUID.test(claimed)) throw goTrueErrors.badJwt('invalid claim: session_id claim must be a UUID');
      if (!(await sessionExists(sql, claimed))) throw goTrueErrors.sessionNotFound();
      sessionId = claimed;
    }
    if (user.banned) throw new GoTrueError(403, 'user_banned', 'User is banned');
    return { user, claims, sessionId };
  }

  // GET /user (UserGet).
  async function getUser(request: http.IncomingMessage): Promise<Json> {
    const { user, claims } = await authenticate(request);
    const requestAud = String(request.headers['x-jwt-aud'] ?? '') || AUTH_SETTINGS.audience;
    if (firstAudience(claims.aud) !== requestAud) throw goTrueErrors.validation("Token audience doesn't match request audience");
    return user.json;
  }

  // POST /logout?scope= (Logout).
  async function logout(request: http.IncomingMessage, url: URL): Promise<void> {
    const scope = url.searchParams.get('scope') ?? '';
    if (!['', 'global', 'local', 'others'].includes(scope)) throw goTrueErrors.validation(`Unsupported logout scope "${scope}"`);
    const { user, sessionId } = await authenticate(request);
    await endSessions(sql, user.id, sessionId, scope === '' ? 'global' : (scope as 'global' | 'local' | 'others'));
  }

  const settings = () => ({
    external: {
      anonymous_users: false, apple: false, azure: false, bitbucket: false, discord: false, facebook: false, snapchat: false,
      figma: false, fly: false, github: false, gitlab: false, google: false, keycloak: false, kakao: false, linkedin: false,
      linkedin_oidc: false, notion: false, spotify: false, slack: false, slack_oidc: false, workos: false, twitch: false,
      twitter: false, email: true, phone: false, zoom: false,
    },
    disable_signup: !AUTH_SETTINGS.enableSignup,
    mailer_autoconfirm: AUTH_SETTINGS.mailerAutoconfirm,
    phone_autoconfirm: false,
    sms_provider: '',
    saml_enabled: false,
    saml_private_key_next_configured: false,
    passkeys_enabled: false,
  });

  async function route(request: http.IncomingMessage, response: http.ServerResponse, url: URL): Promise<void> {
    const method = request.method ?? 'GET';
    const path = url.pathname.slice('/auth/v1'.length).replace(/\/+$/, '') || '/';
    const expect = (allowed: string) => {
      if (method !== allowed) throw goTrueErrors.methodNotAllowed(method, `/auth/v1${path}`);
    };
    switch (path) {
      case '/health':
        expect('GET');
        return sendJson(request, response, 200, { version: 'strata-local', name: 'GoTrue', description: 'GoTrue is a user registration and authentication API' });
      case '/settings':
        expect('GET');
        return sendJson(request, response, 200, settings());
      case '/signup':
        expect('POST');
        return sendJson(request, response, 200, await signup(request));
      case '/token': {
        expect('POST');
        const grant = url.searchParams.get('grant_type') ?? '';
        if (grant === 'password') return sendJson(request, response, 200, await passwordGrant(request));
        if (grant === 'refresh_token') return sendJson(request, response, 200, await refreshGrant(request));
        if (['id_token', 'pkce', 'web3'].includes(grant)) {
          throw notServed(method, `${path}?grant_type=${grant}`, { id_token: 'ID token sign-in', pkce: 'the PKCE code exchange', web3: 'Web3 sign-in' }[grant]);
        }
        throw goTrueErrors.unsupportedGrantType();
      }
      case '/user':
        if (method === 'PUT') throw notServed(method, path, 'updating the user (e-mail, password, metadata)');
        expect('GET');
        return sendJson(request, response, 200, await getUser(request));
      case '/logout':
        expect('POST');
        await logout(request, url);
        return sendJson(request, response, 204, undefined);
      default:
        throw notServed(method, path);
    }
  }

  return {
    async handle(request, response, url) {
      try {
        await route(request, response, url);
      } catch (caught) {
        let error: GoTrueError;
        if (isGoTrueError(caught)) error = caught;
        else if (caught instanceof BodyTooLargeError) error = goTrueErrors.tooLarge(caught.limit);
        else {
          options.log(`auth: ${request.method} ${url.pathname} failed: ${(caught as Error).message ?? String(caught)}`);
          error = goTrueErrors.internal('Database error querying schema');
        }
        request.resume();
        const rendered = renderGoTrueError(error, request.headers['x-supabase-api-version'] as string | undefined);
        sendJson(request, response, rendered.status, rendered.body, rendered.headers);
      }
    },
    stop: () => sql.end({ timeout: 5 }),
  };
}
