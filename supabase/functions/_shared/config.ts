// Configuration from the environment (Supabase function secrets in
// production, the dev stack locally). Read through a getter so the same code
// runs under Deno (Deno.env.get) and Node (process.env) in tests.
import { z } from 'zod';

export type EnvGetter = (name: string) => string | undefined;

export const denoEnv: EnvGetter = (name) => (globalThis as { Deno?: { env: { get(n: string): string | undefined } } }).Deno?.env.get(name);

const nonEmpty = (value: string | undefined) => (value === undefined || value.trim() === '' ? undefined : value.trim());

export type S3Config =
  | {
      configured: true;
      bucket: string;
      region: string;
      prefix: string;
      endpoint?: string;
      forcePathStyle: boolean;
      sse: 'AES256' | 'aws:kms' | 'none';
      credentials?: { accessKeyId: string; secretAccessKey: string };
      /** Per-request timeout: a hanging endpoint must not hold a worker forever. */
      requestTimeoutMs: number;
    }
  | { configured: false; missing: string[]; problem: string };

const SseSchema = z.enum(['AES256', 'aws:kms', 'none']);

/** S3 settings; an unconfigured or misconfigured S3 is a state, not a crash. */
export function readS3Config(env: EnvGetter): S3Config {
  const bucket = nonEmpty(env('S3_BUCKET_NAME'));
  const region = nonEmpty(env('AWS_REGION')) ?? 'us-east-1';
  const accessKeyId = nonEmpty(env('AWS_ACCESS_KEY_ID'));
  const secretAccessKey = nonEmpty(env('AWS_SECRET_ACCESS_KEY'));
  const missing = [
    ...(bucket ? [] : ['S3_BUCKET_NAME']),
    ...(accessKeyId ? [] : ['AWS_ACCESS_KEY_ID']),
    ...(secretAccessKey ? [] : ['AWS_SECRET_ACCESS_KEY']),
  ];
  if (missing.length > 0) {
    return { configured: false, missing, problem: `S3 is not configured: set ${missing.join(', ')}.` };
  }
  const sse = SseSchema.safeParse(nonEmpty(env('S3_SSE')) ?? 'none');
  if (!sse.success) {
    return { configured: false, missing: [], problem: 'S3_SSE must be one of AES256, aws:kms, none.' };
  }
  const prefix = (nonEmpty(env('S3_PREFIX')) ?? '').replace(/^\/+|\/+$/g, '');
  if (prefix && !/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(prefix)) {
    return { configured: false, missing: [], problem: 'S3_PREFIX may hold only letters, digits, ".", "_", "-" and "/".' };
  }
  return {
    configured: true,
    bucket: bucket!,
    region,
    prefix,
    endpoint: nonEmpty(env('S3_ENDPOINT')),
    forcePathStyle: /^(1|true|yes)$/i.test(nonEmpty(env('S3_FORCE_PATH_STYLE')) ?? ''),
    sse: sse.data,
    credentials: { accessKeyId: accessKeyId!, secretAccessKey: secretAccessKey! },
    requestTimeoutMs: Math.max(1000, Number(nonEmpty(env('S3_REQUEST_TIMEOUT_MS')) ?? 30000) || 30000),
  };
}

export interface PlatformConfig {
  dbUrl: string | undefined;
  /** The legacy service_role JWT: what pg_net wake-ups send (Vault's strata_service_role_key). */
  serviceRoleKey: string | undefined;
  /** The project's secret API keys (sb_secret_...), where Supabase issues them. */
  secretKeys: string[];
}

/**
 * The secret API keys, as Supabase documents them for Edge Functions:
 * SUPABASE_SECRET_KEYS is a JSON object of named keys ({"default":
 * "sb_secret_..."}); SUPABASE_SECRET_KEY is a single key (self-hosted, set by
 * hand). A malformed value holds no key: nothing is accepted on its account.
 */
export function readSecretKeys(env: EnvGetter): string[] {
  const keys = new Set<string>();
  const named = nonEmpty(env('SUPABASE_SECRET_KEYS'));
  if (named) {
    try {
      const parsed: unknown = JSON.parse(named);
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
        for (const value of Object.values(parsed)) if (typeof value === 'string' && nonEmpty(value)) keys.add(value.trim());
      }
    } catch {
      // not JSON: no keys
    }
  }
  const single = nonEmpty(env('SUPABASE_SECRET_KEY'));
  if (single) keys.add(single);
  return [...keys];
}

export function readPlatformConfig(env: EnvGetter): PlatformConfig {
  return {
    dbUrl: nonEmpty(env('SUPABASE_DB_URL')),
    serviceRoleKey: nonEmpty(env('SUPABASE_SERVICE_ROLE_KEY')),
    secretKeys: readSecretKeys(env),
  };
}
