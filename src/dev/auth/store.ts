// The local Auth stand-in's SQL, on the tables GoTrue writes (auth.users,
// auth.identities, auth.sessions, auth.refresh_tokens, auth.mfa_amr_claims),
// row for row as GoTrue fills them; and the user object GoTrue answers with
// (models.User's JSON: field names, omitempty, RFC 3339 times in UTC).
// Passwords are bcrypt (cost 10, GoTrue's bcrypt.DefaultCost) through
// pgcrypto's crypt()/gen_salt('bf'), whose $2a$ hashes GoTrue also reads.
import { randomBytes, randomUUID } from 'node:crypto';
import type postgres from 'postgres';

export type Tx = postgres.TransactionSql;

/** GoTrue writes uuid.Nil into instance_id. */
const NIL_UUID = '00000000-0000-0000-0000-000000000000';
const BCRYPT_COST = 10;

/** A timestamptz as text with microseconds in UTC, as Postgres keeps it. */
const ts = (column: string) => `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/** Go's time.Time JSON (RFC 3339, trailing fractional zeros dropped). */
export function goTime(text: string | null): string | null {
  if (text === null) return null;
  return text.replace(/(\.\d*?)0+Z$/, '$1Z').replace(/\.Z$/, 'Z');
}

const USER_SELECT = `
  select id, aud, role, email, phone,
         ${ts('email_confirmed_at')} as email_confirmed_at, ${ts('invited_at')} as invited_at,
         ${ts('phone_confirmed_at')} as phone_confirmed_at, ${ts('confirmation_sent_at')} as confirmation_sent_at,
         ${ts('confirmed_at')} as confirmed_at, ${ts('recovery_sent_at')} as recovery_sent_at,
         email_change, ${ts('email_change_sent_at')} as email_change_sent_at,
         phone_change, ${ts('phone_change_sent_at')} as phone_change_sent_at,
         ${ts('reauthentication_sent_at')} as reauthentication_sent_at, ${ts('last_sign_in_at')} as last_sign_in_at,
         raw_app_meta_data, raw_user_meta_data,
         ${ts('created_at')} as created_at, ${ts('updated_at')} as updated_at,
         ${ts('banned_until')} as banned_until, ${ts('deleted_at')} as deleted_at,
         coalesce(banned_until > now(), false) as banned,
         is_anonymous
    from auth.users`;

const IDENTITY_SELECT = `
  select id, provider_id, user_id, identity_data, provider, ${ts('last_sign_in_at')} as last_sign_in_at,
         ${ts('created_at')} as created_at, ${ts('updated_at')} as updated_at, email
    from auth.identities`;

type Json = Record<string, unknown>;

interface UserRow {
  id: string;
  aud: string | null;
  role: string | null;
  email: string | null;
  phone: string | null;
  email_confirmed_at: string | null;
  invited_at: string | null;
  phone_confirmed_at: string | null;
  confirmation_sent_at: string | null;
  confirmed_at: string | null;
  recovery_sent_at: string | null;
  email_change: string | null;
  email_change_sent_at: string | null;
  phone_change: string | null;
  phone_change_sent_at: string | null;
  reauthentication_sent_at: string | null;
  last_sign_in_at: string | null;
  raw_app_meta_data: Json | null;
  raw_user_meta_data: Json | null;
  created_at: string | null;
  updated_at: string | null;
  banned_until: string | null;
  deleted_at: string | null;
  banned: boolean;
  is_anonymous: boolean;
}

interface IdentityRow {
  id: string;
  provider_id: string;
  user_id: string;
  identity_data: Json;
  provider: string;
  last_sign_in_at: string | null;
  created_at: string | null;
  updated_at: string | null;
  email: string | null;
}

/** A user as GoTrue answers it, and what the access token needs. */
export interface AuthUser {
  json: Json;
  id: string;
  aud: string;
  role: string;
  email: string;
  phone: string;
  appMetadata: Json;
  userMetadata: Json;
  isAnonymous: boolean;
  banned: boolean;
}

function identityJson(row: IdentityRow): Json {
  const json: Json = {
    identity_id: row.id,
    id: row.provider_id,
    user_id: row.user_id,
    identity_data: row.identity_data,
    provider: row.provider,
  };
  if (row.last_sign_in_at) json.last_sign_in_at = goTime(row.last_sign_in_at);
  json.created_at = goTime(row.created_at) ?? '0001-01-01T00:00:00Z';
  json.updated_at = goTime(row.updated_at) ?? '0001-01-01T00:00:00Z';
  if (row.email) json.email = row.email;
  return json;
}

/** models.User's JSON, field by field in its order; `omitempty` fields only when set. */
function userJson(row: UserRow, identities: IdentityRow[]): Json {
  const json: Json = { id: row.id, aud: row.aud ?? '', role: row.role ?? '', email: row.email ?? '' };
  const optional = (key: string, value: string | null) => {
    if (value) json[key] = value;
  };
  optional('email_confirmed_at', goTime(row.email_confirmed_at));
  optional('invited_at', goTime(row.invited_at));
  json.phone = row.phone ?? '';
  optional('phone_confirmed_at', goTime(row.phone_confirmed_at));
  optional('confirmation_sent_at', goTime(row.confirmation_sent_at));
  optional('confirmed_at', goTime(row.confirmed_at));
  optional('recovery_sent_at', goTime(row.recovery_sent_at));
  optional('new_email', row.email_change);
  optional('email_change_sent_at', goTime(row.email_change_sent_at));
  optional('new_phone', row.phone_change);
  optional('phone_change_sent_at', goTime(row.phone_change_sent_at));
  optional('reauthentication_sent_at', goTime(row.reauthentication_sent_at));
  optional('last_sign_in_at', goTime(row.last_sign_in_at));
  json.app_metadata = row.raw_app_meta_data ?? {};
  json.user_metadata = row.raw_user_meta_data ?? {};
  json.identities = identities.map(identityJson);
  json.created_at = goTime(row.created_at) ?? '0001-01-01T00:00:00Z';
  json.updated_at = goTime(row.updated_at) ?? '0001-01-01T00:00:00Z';
  optional('banned_until', goTime(row.banned_until));
  optional('deleted_at', goTime(row.deleted_at));
  json.is_anonymous = row.is_anonymous;
  return json;
}

export async function loadUser(sql: postgres.Sql | Tx, id: string): Promise<AuthUser | null> {
  const [row] = await sql.unsafe<UserRow[]>(`${USER_SELECT} where id = $1`, [id]);
  if (!row) return null;
  const identities = await sql.unsafe<IdentityRow[]>(`${IDENTITY_SELECT} where user_id = $1 order by created_at, id`, [id]);
  return {
    json: userJson(row, identities),
    id: row.id,
    aud: row.aud ?? '',
    role: row.role ?? '',
    email: row.email ?? '',
    phone: row.phone ?? '',
    appMetadata: row.raw_app_meta_data ?? {},
    userMetadata: row.raw_user_meta_data ?? {},
    isAnonymous: row.is_anonymous,
    banned: row.banned,
  };
}

/** models.IsDuplicatedEmail: an identity with this e-mail, or a non-SSO user with it, in this audience. */
export async function findUserByEmail(sql: postgres.Sql | Tx, email: string, aud: string): Promise<{ id: string; confirmed: boolean } | null> {
  const [row] = await sql<{ id: string; confirmed: boolean }[]>`
    select u.id, u.email_confirmed_at is not null as confirmed
      from auth.users u
     where u.aud = ${aud}
       and (u.id in (select i.user_id from auth.identities i where i.email = ${email})
            or (lower(u.email) = ${email} and u.is_sso_user = false))
     order by u.created_at
     limit 1`;
  return row ?? null;
}

/** For the password grant (models.FindUserByEmailAndAudience, then User.Authenticate). */
export async function findPasswordUser(
  sql: postgres.Sql,
  email: string,
  aud: string,
  password: string,
): Promise<{ id: string; hasPassword: boolean; banned: boolean; confirmed: boolean; passwordMatches: boolean } | null> {
  const [row] = await sql<{ id: string; has_password: boolean; banned: boolean; confirmed: boolean; password_matches: boolean }[]>`
    select id,
           coalesce(encrypted_password, '') <> '' as has_password,
           coalesce(banned_until > now(), false) as banned,
           email_confirmed_at is not null as confirmed,
           case when encrypted_password ~ '^\\$2[abxy]\\$\\d\\d\\$.{53}$'
                then encrypted_password = extensions.crypt(${password}, encrypted_password)
                else false end as password_matches
      from auth.users
     where lower(email) = ${email.toLowerCase()} and aud = ${aud} and is_sso_user = false
     order by created_at
     limit 1`;
  return row
    ? { id: row.id, hasPassword: row.has_password, banned: row.banned, confirmed: row.confirmed, passwordMatches: row.password_matches }
    : null;
}

/**
 * Sign-up with the mailer auto-confirming (local: no e-mail is sent), as
 * GoTrue's Signup does it: the user (NewUser, then SetRole and Confirm), its
 * e-mail identity, user_metadata from the identity plus email_verified.
 * Returns null when the e-mail was taken meanwhile (unique index).
 */
export async function createEmailUser(
  tx: Tx,
  input: { email: string; password: string; aud: string; role: string; data: Json },
): Promise<string | null> {
  const id = randomUUID();
  // identity_data: provider.Claims{Subject, Email} (email_verified and
  // phone_verified are not omitempty), then the sign-up data for keys not set.
  const identityData: Json = { ...input.data, sub: id, email: input.email, email_verified: false, phone_verified: false };
  const userMetadata: Json = { ...identityData, email_verified: true };
  const appMetadata = { provider: 'email', providers: ['email'] };
  try {
    await tx.savepoint((sp) => sp`
      insert into auth.users (
        instance_id, id, aud, role, email, encrypted_password,
        email_confirmed_at, invited_at, confirmation_token, confirmation_sent_at,
        recovery_token, recovery_sent_at,
        email_change_token_new, email_change, email_change_sent_at, email_change_token_current, email_change_confirm_status,
        phone, phone_confirmed_at, phone_change, phone_change_token, phone_change_sent_at,
        reauthentication_token, reauthentication_sent_at, last_sign_in_at,
        raw_app_meta_data, raw_user_meta_data, is_sso_user, is_anonymous,
        created_at, updated_at, banned_until, deleted_at)
      values (
        ${NIL_UUID}, ${id}, ${input.aud}, ${input.role}, ${input.email},
        extensions.crypt(${input.password}, extensions.gen_salt('bf', ${BCRYPT_COST})),
        now(), null, '', null,
        '', null,
        '', '', null, '', 0,
        null, null, '', '', null,
        '', null, null,
        ${sp.json(appMetadata)}, ${sp.json(userMetadata as postgres.JSONValue)}, false, false,
        now(), now(), null, null)`);
  } catch (error) {
    if ((error as { code?: string }).code !== '23505') throw error;
    return null;
  }
  await tx`
    insert into auth.identities (id, provider_id, user_id, identity_data, provider, last_sign_in_at, created_at, updated_at)
    values (${randomUUID()}, ${id}, ${id}, ${tx.json(identityData as postgres.JSONValue)}, 'email', now(), now(), now())`;
  return id;
}

/**
 * A confirmed user without a password (what `strata user create` makes, as
 * GoTrue's admin API makes one with email_confirm: true): the user and its
 * e-mail identity, or the existing non-SSO user with this e-mail.
 */
export async function findOrCreateConfirmedUser(sql: postgres.Sql, email: string): Promise<{ id: string; email: string; created: boolean }> {
  const existing = async () => {
    const [row] = await sql<{ id: string; email: string }[]>`
      select id, email from auth.users where lower(email) = ${email} and is_sso_user = false order by created_at limit 1`;
    return row ? { ...row, created: false } : null;
  };
  const found = await existing();
  if (found) return found;
  const id = randomUUID();
  const identityData = { sub: id, email, email_verified: false, phone_verified: false };
  try {
    await sql.begin(async (tx) => {
      await tx`
        insert into auth.users (
          instance_id, id, aud, role, email, encrypted_password, email_confirmed_at,
          confirmation_token, recovery_token, email_change_token_new, email_change, email_change_token_current,
          phone_change, phone_change_token, reauthentication_token,
          raw_app_meta_data, raw_user_meta_data, is_sso_user, is_anonymous, created_at, updated_at)
        values (
          ${NIL_UUID}, ${id}, 'authenticated', 'authenticated', ${email}, '', now(),
          '', '', '', '', '',
          '', '', '',
          ${tx.json({ provider: 'email', providers: ['email'] })}, ${tx.json({ email_verified: true })}, false, false, now(), now())`;
      await tx`
        insert into auth.identities (id, provider_id, user_id, identity_data, provider, last_sign_in_at, created_at, updated_at)
        values (${randomUUID()}, ${id}, ${id}, ${tx.json(identityData)}, 'email', null, now(), now())`;
    });
  } catch (error) {
    // Created meanwhile by someone else (the e-mail is unique among non-SSO users).
    if ((error as { code?: string }).code === '23505') {
      const raced = await existing();
      if (raced) return raced;
    }
    throw error;
  }
  return { id, email, created: true };
}

/** crypto.SecureAlphanumeric(12): GoTrue's table-backed refresh tokens (lowercase base32). */
export function newRefreshToken(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  const bytes = randomBytes(8);
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out.slice(0, 12);
}

export interface ClientInfo {
  userAgent: string | null;
  ip: string | null;
}

/**
 * IssueRefreshToken with the legacy (table) algorithm: a session (aal1), its
 * first refresh token, the AMR claim of how the user signed in, and
 * last_sign_in_at.
 */
export async function createSession(tx: Tx, userId: string, method: string, client: ClientInfo): Promise<{ sessionId: string; refreshToken: string }> {
  const sessionId = randomUUID();
  const refreshToken = newRefreshToken();
  await tx`
    insert into auth.sessions (id, user_id, created_at, updated_at, factor_id, aal, user_agent, ip)
    values (${sessionId}, ${userId}, now(), now(), null, 'aal1', ${client.userAgent}, ${client.ip}::inet)`;
  await tx`
    insert into auth.refresh_tokens (instance_id, token, user_id, parent, session_id, revoked, created_at, updated_at)
    values (${NIL_UUID}, ${refreshToken}, ${userId}, null, ${sessionId}, false, now(), now())`;
  await tx`update auth.users set last_sign_in_at = now(), updated_at = now() where id = ${userId}`;
  await tx`
    insert into auth.mfa_amr_claims (id, session_id, created_at, updated_at, authentication_method)
    values (${randomUUID()}, ${sessionId}, now(), now(), ${method})
    on conflict on constraint mfa_amr_claims_session_id_authentication_method_pkey do update set updated_at = now()`;
  return { sessionId, refreshToken };
}

/** Session.CalculateAALAndAMR: the session's methods, most recent first. */
export async function sessionAmr(sql: postgres.Sql | Tx, sessionId: string): Promise<Array<{ method: string; timestamp: number }>> {
  const rows = await sql<{ method: string; timestamp: string }[]>`
    select authentication_method as method, floor(extract(epoch from updated_at))::bigint as timestamp
      from auth.mfa_amr_claims where session_id = ${sessionId}
     order by updated_at desc`;
  return rows.map((r) => ({ method: r.method, timestamp: Number(r.timestamp) }));
}

export async function sessionExists(sql: postgres.Sql, sessionId: string): Promise<boolean> {
  const [row] = await sql`select 1 from auth.sessions where id = ${sessionId}`;
  return Boolean(row);
}

export type RefreshOutcome =
  | { ok: true; userId: string; sessionId: string; refreshToken: string }
  | { ok: false; reason: 'not_found' | 'no_session' | 'banned' | 'session_expired' | 'already_used' };

/**
 * The refresh_token grant for table-backed tokens (tokens.Service.RefreshTokenGrant):
 * the token and its session locked; a used token is accepted again only when
 * its child is the active token (the client missed the answer) or within the
 * reuse interval; otherwise the session's tokens are revoked and the caller
 * answers "Already Used" (the revocation is kept).
 */
export async function refreshSession(tx: Tx, token: string, client: ClientInfo, reuseIntervalSeconds: number): Promise<RefreshOutcome> {
  const [row] = await tx<{ id: string; token: string; user_id: string; revoked: boolean; session_id: string | null; age: number }[]>`
    select id, token, user_id, coalesce(revoked, false) as revoked, session_id,
           extract(epoch from (now() - updated_at))::float8 as age
      from auth.refresh_tokens where token = ${token}
     for update`;
  if (!row) return { ok: false, reason: 'not_found' };
  const [user] = await tx<{ banned: boolean }[]>`
    select coalesce(banned_until > now(), false) as banned from auth.users where id = ${row.user_id}::uuid`;
  if (!user) return { ok: false, reason: 'not_found' };
  if (user.banned) return { ok: false, reason: 'banned' };
  const [session] = row.session_id
    ? await tx<{ id: string; expired: boolean }[]>`
        select id, coalesce(not_after < now(), false) as expired from auth.sessions where id = ${row.session_id} for update`
    : [];
  if (!session) {
    await tx`delete from auth.refresh_tokens where id = ${row.id}`;
    return { ok: false, reason: 'no_session' };
  }
  if (session.expired) return { ok: false, reason: 'session_expired' };

  let issued: string | null = null;
  if (row.revoked) {
    const [active] = await tx<{ token: string; parent: string | null }[]>`
      select token, parent from auth.refresh_tokens
       where session_id = ${session.id} and revoked = false order by id desc limit 1`;
    if (active && active.parent === row.token) issued = active.token;
    else if (row.age > reuseIntervalSeconds) {
      await tx`update auth.refresh_tokens set revoked = true, updated_at = now() where session_id = ${session.id} and revoked = false`;
      return { ok: false, reason: 'already_used' };
    }
  }
  if (issued === null) {
    issued = newRefreshToken();
    await tx`update auth.refresh_tokens set revoked = true, updated_at = now() where id = ${row.id}`;
    await tx`
      insert into auth.refresh_tokens (instance_id, token, user_id, parent, session_id, revoked, created_at, updated_at)
      values (${NIL_UUID}, ${issued}, ${row.user_id}, ${row.token}, ${session.id}, false, now(), now())`;
    await tx`update auth.users set updated_at = now() where id = ${row.user_id}::uuid`;
  }
  await tx`
    update auth.sessions
       set refreshed_at = now() at time zone 'UTC', user_agent = ${client.userAgent}, ip = ${client.ip}::inet, updated_at = now()
     where id = ${session.id}`;
  return { ok: true, userId: row.user_id, sessionId: session.id, refreshToken: issued };
}

/** models.Logout / LogoutSession / LogoutAllExceptMe: refresh tokens and AMR claims go with their sessions. */
export async function endSessions(sql: postgres.Sql, userId: string, sessionId: string | null, scope: 'global' | 'local' | 'others'): Promise<void> {
  if (sessionId && scope === 'local') await sql`delete from auth.sessions where id = ${sessionId}`;
  else if (sessionId && scope === 'others') await sql`delete from auth.sessions where id <> ${sessionId} and user_id = ${userId}`;
  else await sql`delete from auth.sessions where user_id = ${userId}`;
}
