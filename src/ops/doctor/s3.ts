// S3 as the deployment uses it: the configured credentials reach the bucket
// (HeadBucket), browsers may upload to it with presigned PUTs (the bucket's
// CORS rules), and objects are encrypted at rest (default encryption, or
// S3_SSE on every object). S3-compatible servers refuse some of these calls
// (s3rver has no encryption configuration): that is reported as
// "unsupported by this endpoint", a warning, never a failure.
import { GetBucketCorsCommand, GetBucketEncryptionCommand, HeadBucketCommand, type CORSRule, type S3Client } from '@aws-sdk/client-s3';
import { readS3Config, type EnvGetter, type S3Config } from '../../../supabase/functions/_shared/config.ts';
import { createS3Client } from '../../../supabase/functions/_shared/s3/client.ts';
import { s3StatusOf } from '../../../supabase/functions/_shared/s3/errors.ts';
import { fail, ok, warn, type Check } from './check.ts';

type ConfiguredS3 = Extract<S3Config, { configured: true }>;

const SETUP = 'npx strata bucket setup';
/** A doctor run answers in seconds even when the endpoint hangs. */
const REQUEST_TIMEOUT_MS = 10_000;

function errorName(error: unknown): string {
  const e = error as { name?: string; code?: string; Code?: string; message?: string };
  if (e.code && /^E[A-Z]+$/.test(e.code)) return e.code;
  const name = e.Code ?? e.name ?? 'Error';
  // Network errors are plain Errors: their message says what happened ("connect ECONNREFUSED …").
  return name === 'Error' && e.message ? e.message : name;
}

const describeFailure = (error: unknown) => {
  const status = s3StatusOf(error);
  return `${errorName(error)}${status ? ` (HTTP ${status})` : ''}`;
};

/** The endpoint does not implement the call (s3rver and other S3-compatible servers). */
export function isUnsupported(error: unknown): boolean {
  const status = s3StatusOf(error);
  const name = (error as { name?: string; Code?: string }).Code ?? (error as { name?: string }).name;
  return status === 501 || status === 405 || name === 'NotImplemented' || name === 'MethodNotAllowed';
}

const endpointOf = (config: ConfiguredS3) => config.endpoint ?? `s3.${config.region}.amazonaws.com`;

async function bucketCheck(s3: S3Client, config: ConfiguredS3): Promise<Check> {
  const name = 's3_bucket';
  try {
    await s3.send(new HeadBucketCommand({ Bucket: config.bucket }));
    return ok(name, `bucket ${config.bucket} reachable at ${endpointOf(config)} with the configured credentials`);
  } catch (error) {
    const status = s3StatusOf(error);
    if (status === 404) return fail(name, `bucket ${config.bucket} does not exist at ${endpointOf(config)}`, `${SETUP} creates and configures it.`);
    if (status === 403) {
      return fail(name, `the configured credentials may not access bucket ${config.bucket} (HTTP 403)`,
        'Check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY and the bucket policy (s3:ListBucket, s3:GetObject, s3:PutObject, s3:DeleteObject).');
    }
    if (status === 301 || status === 400) {
      return fail(name, `bucket ${config.bucket} answered ${describeFailure(error)}: it is probably in another region than AWS_REGION=${config.region}`,
        'Set AWS_REGION to the bucket\'s region.');
    }
    return fail(name, `cannot reach S3 at ${endpointOf(config)}: ${describeFailure(error)}`,
      config.endpoint ? 'Check S3_ENDPOINT and that the S3 server is up.' : 'Check the network and AWS_REGION.');
  }
}

const headerAllowed = (rule: CORSRule, header: string) =>
  (rule.AllowedHeaders ?? []).some((pattern) =>
    new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`, 'i').test(header));

/** A rule lets a browser PUT with the headers a presigned upload sends. */
export function corsCheckOf(rules: CORSRule[], config: ConfiguredS3): Check {
  const name = 's3_cors';
  const put = rules.filter((rule) => (rule.AllowedMethods ?? []).some((method) => method.toUpperCase() === 'PUT'));
  if (put.length === 0) {
    return warn(name, 'the CORS rules allow no PUT: browsers cannot upload with presigned URLs',
      `${SETUP} adds a rule for PUT, GET and HEAD (origins from STORAGE_CORS_ORIGINS, default *).`);
  }
  const headers = ['content-type', ...(config.sse === 'none' ? [] : ['x-amz-server-side-encryption'])];
  const usable = put.find((rule) => headers.every((header) => headerAllowed(rule, header)));
  if (!usable) {
    return warn(name, `the CORS rules for PUT do not allow the headers an upload sends (${headers.join(', ')})`,
      `Allow them (AllowedHeaders: ["*"]), e.g. with ${SETUP}.`);
  }
  return ok(name, `browser uploads allowed: PUT from ${(usable.AllowedOrigins ?? []).join(', ') || '(no origin)'}`);
}

async function corsCheck(s3: S3Client, config: ConfiguredS3): Promise<Check> {
  const name = 's3_cors';
  try {
    const cors = await s3.send(new GetBucketCorsCommand({ Bucket: config.bucket }));
    return corsCheckOf(cors.CORSRules ?? [], config);
  } catch (error) {
    if (isUnsupported(error)) return warn(name, `unsupported by this endpoint: GetBucketCors answered ${describeFailure(error)}`);
    const code = (error as { name?: string }).name;
    if (code === 'NoSuchCORSConfiguration' || s3StatusOf(error) === 404) {
      return warn(name, 'no CORS configuration: browsers cannot upload with presigned URLs',
        `${SETUP} adds a rule for PUT, GET and HEAD (origins from STORAGE_CORS_ORIGINS, default *).`);
    }
    if (s3StatusOf(error) === 403) return warn(name, 'not allowed to read the CORS configuration (s3:GetBucketCORS): not checked');
    return warn(name, `could not read the CORS configuration: ${describeFailure(error)}`);
  }
}

async function encryptionCheck(s3: S3Client, config: ConfiguredS3): Promise<Check> {
  const name = 's3_encryption';
  const perObject = config.sse === 'none' ? null : `Strata asks for ${config.sse} on every object (S3_SSE)`;
  try {
    const result = await s3.send(new GetBucketEncryptionCommand({ Bucket: config.bucket }));
    const algorithms = (result.ServerSideEncryptionConfiguration?.Rules ?? [])
      .map((rule) => rule.ApplyServerSideEncryptionByDefault?.SSEAlgorithm)
      .filter(Boolean);
    if (algorithms.length > 0) return ok(name, `default encryption ${algorithms.join(', ')}${perObject ? `; ${perObject}` : ''}`);
  } catch (error) {
    if (isUnsupported(error)) {
      return warn(name, `unsupported by this endpoint: GetBucketEncryption answered ${describeFailure(error)}${perObject ? `; ${perObject}` : ''}`);
    }
    const code = (error as { name?: string }).name;
    const notFound = code === 'ServerSideEncryptionConfigurationNotFoundError' || s3StatusOf(error) === 404;
    if (!notFound) {
      if (s3StatusOf(error) === 403) return warn(name, 'not allowed to read the encryption configuration (s3:GetEncryptionConfiguration): not checked');
      return warn(name, `could not read the encryption configuration: ${describeFailure(error)}`);
    }
  }
  return perObject
    ? ok(name, `no bucket default encryption; ${perObject}`)
    : warn(name, 'no default encryption and S3_SSE=none: objects are stored unencrypted',
      `${SETUP} turns on default encryption (AES256), or set S3_SSE=AES256 (supabase secrets set S3_SSE=AES256).`);
}

export async function s3Checks(env: EnvGetter): Promise<Check[]> {
  const config = readS3Config(env);
  if (!config.configured) {
    return [
      fail('s3_bucket', config.problem, 'Set the S3 variables: npx supabase secrets set AWS_ACCESS_KEY_ID=… AWS_SECRET_ACCESS_KEY=… AWS_REGION=… S3_BUCKET_NAME=… (and in the shell for this command).'),
      warn('s3_cors', 'not checked: S3 is not configured'),
      warn('s3_encryption', 'not checked: S3 is not configured'),
    ];
  }
  const s3 = createS3Client({ ...config, requestTimeoutMs: Math.min(config.requestTimeoutMs, REQUEST_TIMEOUT_MS) }, { maxAttempts: 2 });
  try {
    const bucket = await bucketCheck(s3, config);
    if (bucket.status === 'fail') {
      return [bucket, warn('s3_cors', 'not checked: the bucket is not reachable'), warn('s3_encryption', 'not checked: the bucket is not reachable')];
    }
    return [bucket, ...(await Promise.all([corsCheck(s3, config), encryptionCheck(s3, config)]))];
  } finally {
    s3.destroy();
  }
}
