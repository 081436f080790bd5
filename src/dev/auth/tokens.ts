// The access token and the token response, as GoTrue issues them
// (tokens.Service.GenerateAccessToken, AccessTokenResponse): an HS256 JWT
// signed with the project's secret, the same the gateway verifies for
// /functions/v1, with GoTrue's claims in GoTrue's order.
import { signJwt } from '../../auth/jwt.ts';
import type { AuthUser } from './store.ts';

export interface TokenSettings {
  jwtSecret: string;
  /** GOTRUE_JWT_ISSUER: `<API URL>/auth/v1`, as `supabase start` sets it. */
  issuer: string;
  /** [auth] jwt_expiry. */
  expirySeconds: number;
}

export function accessToken(
  user: AuthUser,
  session: { id: string; amr: Array<{ method: string; timestamp: number }> },
  settings: TokenSettings,
  nowMs = Date.now(),
): { token: string; expiresAt: number } {
  const iat = Math.floor(nowMs / 1000);
  const exp = iat + settings.expirySeconds;
  const claims = {
    iss: settings.issuer,
    sub: user.id,
    aud: user.aud,
    exp,
    iat,
    email: user.email,
    phone: user.phone,
    app_metadata: user.appMetadata,
    user_metadata: user.userMetadata,
    role: user.role,
    aal: 'aal1',
    amr: session.amr,
    session_id: session.id,
    is_anonymous: user.isAnonymous,
  };
  return { token: signJwt(claims, settings.jwtSecret), expiresAt: exp };
}

/** AccessTokenResponse: what sign-up (auto-confirmed), the password grant and the refresh grant answer. */
export function tokenResponse(
  user: AuthUser,
  session: { id: string; amr: Array<{ method: string; timestamp: number }>; refreshToken: string },
  settings: TokenSettings,
): Record<string, unknown> {
  const now = Date.now();
  const { token, expiresAt } = accessToken(user, session, settings, now);
  return {
    access_token: token,
    token_type: 'bearer',
    expires_in: expiresAt - Math.floor(now / 1000),
    expires_at: expiresAt,
    refresh_token: session.refreshToken,
    user: user.json,
  };
}
