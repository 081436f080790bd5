// The lifecycle rules `strata bucket setup` puts on the bucket (s3rver
// ignores lifecycle configuration, so the rules themselves are checked here).
import { describe, expect, it } from 'vitest';
import { lifecycleRules } from '../../src/ops/bucket-setup.ts';
import { readS3Config } from '../../supabase/functions/_shared/config.ts';

const S3 = { S3_BUCKET_NAME: 'b', AWS_ACCESS_KEY_ID: 'k', AWS_SECRET_ACCESS_KEY: 's' };
const configured = (env: Record<string, string>) => {
  const config = readS3Config((name) => env[name]);
  if (!config.configured) throw new Error(config.problem);
  return config;
};

describe('bucket lifecycle rules', () => {
  it.each([
    ['no prefix', {}, ''],
    ['under S3_PREFIX', { S3_PREFIX: 'tenant-a/strata' }, 'tenant-a/strata/'],
  ])('abort incomplete multipart uploads (large archives) after 7 days, %s', (_label, extra, prefix) => {
    const env: Record<string, string> = { ...S3, ...extra };
    const { rules, summary } = lifecycleRules(configured(env), (name) => env[name]);
    expect(rules).toContainEqual({
      ID: 'strata-abort-incomplete-uploads', Status: 'Enabled', Filter: { Prefix: prefix }, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 },
    });
    expect(rules).toContainEqual(expect.objectContaining({ ID: 'strata-expire-old-versions', NoncurrentVersionExpiration: { NoncurrentDays: 30 } }));
    expect(rules.map((r) => r.ID)).not.toContain('strata-archive-transition');
    expect(summary).toMatch(/abort incomplete uploads after 7 d/);
  });

  it('take their days from the environment, and move only large archives to a colder class when asked', () => {
    const env: Record<string, string> = { ...S3, LIFECYCLE_ABORT_MULTIPART_DAYS: '3', LIFECYCLE_ARCHIVE_TRANSITION_DAYS: '30' };
    const { rules } = lifecycleRules(configured(env), (name) => env[name]);
    expect(rules.find((r) => r.ID === 'strata-abort-incomplete-uploads')?.AbortIncompleteMultipartUpload).toEqual({ DaysAfterInitiation: 3 });
    expect(rules.find((r) => r.ID === 'strata-archive-transition')).toMatchObject({
      Filter: { And: { Prefix: 'archived_conversations/', ObjectSizeGreaterThan: 128 * 1024 } },
      Transitions: [{ Days: 30, StorageClass: 'STANDARD_IA' }],
    });
  });
});
