// strata bucket setup: makes a bucket ready for Strata. Each setting is
// applied on its own and reported; an endpoint that refuses one (s3rver
// refuses most) is reported, not fatal.
import {
  CreateBucketCommand,
  HeadBucketCommand,
  PutBucketCorsCommand,
  PutBucketEncryptionCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketVersioningCommand,
  PutPublicAccessBlockCommand,
  type CORSConfiguration,
  type LifecycleRule,
  type S3Client,
} from '@aws-sdk/client-s3';
import { s3StatusOf } from '../../supabase/functions/_shared/s3/errors.ts';
import type { EnvGetter, S3Config } from '../../supabase/functions/_shared/config.ts';

type ConfiguredS3 = Extract<S3Config, { configured: true }>;

export interface SettingOutcome {
  setting: string;
  outcome: 'applied' | 'already' | 'refused' | 'skipped';
  detail?: string;
}

export const LIFECYCLE_WARNINGS = [
  'S3 does not transition objects smaller than 128 KB to other storage classes.',
  'Glacier classes add about 40 KB of overhead per object: small per-conversation archives are cheaper left in Standard.',
];

function refusal(error: unknown): string {
  const e = error as { name?: string; Code?: string };
  const status = s3StatusOf(error);
  return `${e.name ?? e.Code ?? 'Error'}${status ? ` (HTTP ${status})` : ''}`;
}

/**
 * The bucket's lifecycle rules, under S3_PREFIX: incomplete multipart uploads
 * are aborted (a large archive is a multipart upload resumed across worker
 * invocations; one given up on would otherwise keep its parts, billed and
 * invisible to listings, forever), old versions expire, and optionally large
 * archives move to a colder class.
 */
export function lifecycleRules(config: ConfiguredS3, env: EnvGetter): { rules: LifecycleRule[]; summary: string } {
  const abortDays = Number(env('LIFECYCLE_ABORT_MULTIPART_DAYS') ?? 7);
  const noncurrentDays = Number(env('LIFECYCLE_NONCURRENT_EXPIRE_DAYS') ?? 30);
  const transitionDays = env('LIFECYCLE_ARCHIVE_TRANSITION_DAYS');
  const transitionClass = env('LIFECYCLE_ARCHIVE_STORAGE_CLASS') ?? 'STANDARD_IA';
  const prefix = config.prefix ? `${config.prefix}/` : '';
  const rules: LifecycleRule[] = [
    { ID: 'strata-abort-incomplete-uploads', Status: 'Enabled', Filter: { Prefix: prefix }, AbortIncompleteMultipartUpload: { DaysAfterInitiation: abortDays } },
    { ID: 'strata-expire-old-versions', Status: 'Enabled', Filter: { Prefix: prefix }, NoncurrentVersionExpiration: { NoncurrentDays: noncurrentDays } },
    ...(transitionDays
      ? [{
          ID: 'strata-archive-transition',
          Status: 'Enabled' as const,
          // Only objects large enough to be worth moving (see the warnings).
          Filter: { And: { Prefix: `${prefix}archived_conversations/`, ObjectSizeGreaterThan: 128 * 1024 } },
          Transitions: [{ Days: Number(transitionDays), StorageClass: transitionClass as never }],
        }]
      : []),
  ];
  return {
    rules,
    summary: `abort incomplete uploads after ${abortDays} d, old versions after ${noncurrentDays} d${transitionDays ? `, archives > 128 KB to ${transitionClass} after ${transitionDays} d` : ''}`,
  };
}

/**
 * The bucket's CORS rule for browser uploads: a presigned PUT (with its
 * content-type) from these origins, and GET / HEAD of presigned downloads.
 * `bucket setup` puts it on a deployment's bucket; the local stack on its own.
 */
export function browserUploadCors(origins: string[]): CORSConfiguration {
  return {
    CORSRules: [{ AllowedMethods: ['PUT', 'GET', 'HEAD'], AllowedOrigins: origins, AllowedHeaders: ['*'], ExposeHeaders: ['ETag'], MaxAgeSeconds: 3600 }],
  };
}

export async function setupBucket(s3: S3Client, config: ConfiguredS3, env: EnvGetter): Promise<{ outcomes: SettingOutcome[]; warnings: string[] }> {
  const outcomes: SettingOutcome[] = [];
  const attempt = async (setting: string, fn: () => Promise<unknown>, detail?: string) => {
    try {
      await fn();
      outcomes.push({ setting, outcome: 'applied', detail });
    } catch (error) {
      outcomes.push({ setting, outcome: 'refused', detail: refusal(error) });
    }
  };

  const exists = await s3.send(new HeadBucketCommand({ Bucket: config.bucket })).then(() => true, () => false);
  if (exists) outcomes.push({ setting: 'bucket', outcome: 'already', detail: config.bucket });
  else {
    await attempt('bucket', () =>
      s3.send(new CreateBucketCommand({
        Bucket: config.bucket,
        ...(config.region !== 'us-east-1' ? { CreateBucketConfiguration: { LocationConstraint: config.region as never } } : {}),
      })), config.bucket);
  }

  await attempt('block public access', () =>
    s3.send(new PutPublicAccessBlockCommand({
      Bucket: config.bucket,
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true },
    })));

  const algorithm = config.sse === 'aws:kms' ? 'aws:kms' : 'AES256';
  await attempt('default encryption', () =>
    s3.send(new PutBucketEncryptionCommand({
      Bucket: config.bucket,
      ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: algorithm } }] },
    })), algorithm);

  await attempt('versioning', () =>
    s3.send(new PutBucketVersioningCommand({ Bucket: config.bucket, VersioningConfiguration: { Status: 'Enabled' } })), 'Enabled');

  const origins = (env('STORAGE_CORS_ORIGINS') ?? '*').split(',').map((o) => o.trim()).filter(Boolean);
  await attempt('CORS for browser uploads', () =>
    s3.send(new PutBucketCorsCommand({ Bucket: config.bucket, CORSConfiguration: browserUploadCors(origins) })), origins.join(', '));

  const lifecycle = lifecycleRules(config, env);
  await attempt('lifecycle rules', () =>
    s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket: config.bucket, LifecycleConfiguration: { Rules: lifecycle.rules } })),
    lifecycle.summary);

  return { outcomes, warnings: LIFECYCLE_WARNINGS };
}
