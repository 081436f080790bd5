// Settings read from the environment: the shared reader (settings.ts), the
// job worker's (jobs/settings.ts) and the archive jobs' (archive/settings.ts),
// the conversations API's limits (conversations/limits.ts), the files API's
// (files/settings.ts) and S3's (config.ts). Defaults when unset, clamped to
// safe bounds, and a misconfigured S3 is a state, not a crash.
import { describe, expect, it } from 'vitest';
import { readArchiveSettings } from '../../supabase/functions/_shared/archive/settings.ts';
import { readS3Config, type EnvGetter } from '../../supabase/functions/_shared/config.ts';
import { readConversationLimits } from '../../supabase/functions/_shared/conversations/limits.ts';
import { readFileSettings } from '../../supabase/functions/_shared/files/settings.ts';
import { readWorkerSettings } from '../../supabase/functions/_shared/jobs/settings.ts';
import { readInt } from '../../supabase/functions/_shared/settings.ts';

const env = (values: Record<string, string | undefined>): EnvGetter => (name) => values[name];
const unset = env({});
const MiB = 1024 * 1024;

describe('readInt (the shared reader)', () => {
  it.each([
    ['200', 200],
    [' 7 ', 7],
    ['12.9', 12], // rounded down
    ['1e2', 100],
    ['0', 1], // clamped to the bounds
    ['-3', 1],
    ['5000', 1000],
    [undefined, 50], // unset, empty, blank or not a number: the default
    ['', 50],
    ['   ', 50],
    ['fifty', 50],
    ['Infinity', 50],
    ['NaN', 50],
  ])('%j → %i (default 50, bounds 1..1000)', (raw, expected) => {
    expect(readInt(env({ N: raw }), 'N', 50, 1, 1000)).toBe(expected);
  });
});

describe('readWorkerSettings', () => {
  it('has defaults sized for one hosted invocation', () => {
    expect(readWorkerSettings(unset)).toEqual({
      leaseSeconds: 120,
      backoffBaseSeconds: 5,
      cpuBudgetMs: 600,
      wallBudgetMs: 50_000,
      memoryBudgetBytes: 96 * MiB,
      maxDrains: 2,
      dbPoolSize: 4,
    });
  });

  it.each([
    ['ARCHIVE_LEASE_SECONDS', '1', 'leaseSeconds', 2],
    ['ARCHIVE_LEASE_SECONDS', '7200', 'leaseSeconds', 3600],
    ['ARCHIVE_BACKOFF_BASE_SECONDS', '0', 'backoffBaseSeconds', 0],
    ['ARCHIVE_BACKOFF_BASE_SECONDS', '-1', 'backoffBaseSeconds', 0],
    ['WORKER_CPU_BUDGET_MS', '1', 'cpuBudgetMs', 10],
    ['WORKER_CPU_BUDGET_MS', '1500', 'cpuBudgetMs', 1500],
    ['ARCHIVE_BUDGET_SECONDS', '20', 'wallBudgetMs', 20_000],
    ['ARCHIVE_BUDGET_SECONDS', '0', 'wallBudgetMs', 1000],
    ['ARCHIVE_BUDGET_SECONDS', '99999', 'wallBudgetMs', 3_600_000],
    ['WORKER_MEMORY_BUDGET_MB', '8', 'memoryBudgetBytes', 16 * MiB],
    ['WORKER_MEMORY_BUDGET_MB', '128', 'memoryBudgetBytes', 128 * MiB],
    ['ARCHIVE_MAX_DRAINS', '0', 'maxDrains', 1],
    ['ARCHIVE_MAX_DRAINS', '100', 'maxDrains', 32],
    ['WORKER_DB_POOL_SIZE', '0', 'dbPoolSize', 1],
    ['WORKER_DB_POOL_SIZE', '500', 'dbPoolSize', 50],
  ] as const)('%s=%j → %s %d', (name, value, field, expected) => {
    const settings = readWorkerSettings(env({ [name]: value }));
    expect(settings[field]).toBe(expected);
    // Nothing else moves.
    expect({ ...settings, [field]: undefined }).toEqual({ ...readWorkerSettings(unset), [field]: undefined });
  });
});

describe('readArchiveSettings', () => {
  it('has safe defaults', () => {
    expect(readArchiveSettings(unset)).toEqual({ concurrency: 8, streamAboveBytes: 8 * MiB, partBytes: 8 * MiB });
  });

  it.each([
    ['ARCHIVE_CONCURRENCY', '0', 'concurrency', 1],
    ['ARCHIVE_CONCURRENCY', '65', 'concurrency', 64],
    ['ARCHIVE_STREAM_ABOVE_BYTES', '10', 'streamAboveBytes', 1024],
    ['ARCHIVE_STREAM_ABOVE_BYTES', String(2 * 1024 * MiB), 'streamAboveBytes', 1024 * MiB],
    ['ARCHIVE_PART_BYTES', '1', 'partBytes', 5 * MiB], // S3's smallest multipart part
    ['ARCHIVE_PART_BYTES', String(16 * MiB), 'partBytes', 16 * MiB],
    ['ARCHIVE_PART_BYTES', String(1024 * MiB), 'partBytes', 512 * MiB],
  ] as const)('%s=%j → %s %d', (name, value, field, expected) => {
    const settings = readArchiveSettings(env({ [name]: value }));
    expect(settings[field]).toBe(expected);
    expect({ ...settings, [field]: undefined }).toEqual({ ...readArchiveSettings(unset), [field]: undefined });
  });
});

describe('readConversationLimits', () => {
  it('has safe defaults', () => {
    expect(readConversationLimits(unset)).toEqual({
      maxContentBytes: MiB,
      maxMetadataBytes: 64 * 1024,
      maxTitleChars: 500,
      defaultPageSize: 20,
      maxPageSize: 100,
      defaultHistory: 10,
      maxTtlHours: 24 * 365,
    });
  });

  it.each([
    ['MESSAGE_MAX_CONTENT_BYTES', '2048', 'maxContentBytes', 2048],
    ['MESSAGE_MAX_CONTENT_BYTES', '0', 'maxContentBytes', 1],
    ['MESSAGE_MAX_CONTENT_BYTES', String(100 * MiB), 'maxContentBytes', 50 * MiB],
    ['MESSAGE_MAX_METADATA_BYTES', '1', 'maxMetadataBytes', 2], // room for "{}"
    ['MESSAGE_MAX_METADATA_BYTES', String(20 * MiB), 'maxMetadataBytes', 10 * MiB],
    ['CONVERSATION_MAX_TITLE_CHARS', '20000', 'maxTitleChars', 10_000],
    ['PAGE_SIZE_DEFAULT', '50', 'defaultPageSize', 50],
    ['PAGE_SIZE_DEFAULT', '0', 'defaultPageSize', 1],
    ['PAGE_SIZE_MAX', '5000', 'maxPageSize', 1000],
    ['HISTORY_DEFAULT_MESSAGES', '1e2', 'defaultHistory', 100],
    ['HISTORY_DEFAULT_MESSAGES', '-5', 'defaultHistory', 1],
    ['TTL_MAX_HOURS', '48', 'maxTtlHours', 48],
    ['TTL_MAX_HOURS', '100000', 'maxTtlHours', 24 * 3650],
    // Not an integer: the default (settings.ts readInt rounds down instead).
    ['PAGE_SIZE_MAX', '12.5', 'maxPageSize', 12], // the shared reader rounds down,
    ['PAGE_SIZE_MAX', 'many', 'maxPageSize', 100],
    ['PAGE_SIZE_MAX', '', 'maxPageSize', 100],
    ['PAGE_SIZE_MAX', '  ', 'maxPageSize', 100],
  ] as const)('%s=%j → %s %d', (name, value, field, expected) => {
    const limits = readConversationLimits(env({ [name]: value }));
    expect(limits[field]).toBe(expected);
    expect({ ...limits, [field]: undefined }).toEqual({ ...readConversationLimits(unset), [field]: undefined });
  });
});

describe('readFileSettings', () => {
  const ALL_TYPES = ['application/pdf', 'text/plain', 'text/markdown', 'text/csv', 'application/json'];

  it('has safe defaults', () => {
    expect(readFileSettings(unset)).toEqual({
      allowedTypes: ALL_TYPES,
      maxBytes: 50 * MiB,
      directMaxBytes: 5 * MiB,
      urlTtlSeconds: 3600,
      analysisMaxBytes: 5 * MiB,
    });
  });

  it.each([
    ['', ALL_TYPES],
    [' , ,', ALL_TYPES],
    ['application/pdf', ['application/pdf']],
    [' Application/PDF , TEXT/plain ', ['application/pdf', 'text/plain']],
    // Only types Strata can check and process.
    ['application/pdf,image/png,application/zip', ['application/pdf']],
    ['image/png', []],
  ])('FILES_ALLOWED_TYPES=%j → %j', (value, allowed) => {
    expect(readFileSettings(env({ FILES_ALLOWED_TYPES: value })).allowedTypes).toEqual(allowed);
  });

  it.each([
    ['FILES_MAX_BYTES', '1000', 'maxBytes', 1000],
    ['FILES_MAX_BYTES', '0', 'maxBytes', 1],
    ['FILES_MAX_BYTES', String(10 * 1024 * 1024 * MiB), 'maxBytes', 5 * 1024 * MiB],
    ['FILES_MAX_BYTES', '1.5', 'maxBytes', 1], // the shared reader rounds down,
    ['FILES_MAX_BYTES', 'big', 'maxBytes', 50 * MiB],
    ['FILES_MAX_BYTES', '', 'maxBytes', 50 * MiB],
    ['FILES_DIRECT_MAX_BYTES', String(100 * MiB), 'directMaxBytes', 50 * MiB],
    ['FILES_URL_TTL_SECONDS', '30', 'urlTtlSeconds', 60],
    ['FILES_URL_TTL_SECONDS', '600', 'urlTtlSeconds', 600],
    ['FILES_URL_TTL_SECONDS', '86400', 'urlTtlSeconds', 12 * 3600], // abandoned uploads are swept after a day
    ['ANALYSIS_MAX_BYTES', '1', 'analysisMaxBytes', 2],
    ['ANALYSIS_MAX_BYTES', String(200 * MiB), 'analysisMaxBytes', 100 * MiB],
  ] as const)('%s=%j → %s %d', (name, value, field, expected) => {
    const settings = readFileSettings(env({ [name]: value }));
    expect(settings[field]).toBe(expected);
    expect({ ...settings, [field]: undefined }).toEqual({ ...readFileSettings(unset), [field]: undefined });
  });
});

describe('readS3Config', () => {
  const required = { S3_BUCKET_NAME: 'strata', AWS_ACCESS_KEY_ID: 'AKIA', AWS_SECRET_ACCESS_KEY: 'secret' };

  it('reads a minimal configuration with its defaults', () => {
    expect(readS3Config(env(required))).toEqual({
      configured: true,
      bucket: 'strata',
      region: 'us-east-1',
      prefix: '',
      endpoint: undefined,
      forcePathStyle: false,
      sse: 'none',
      credentials: { accessKeyId: 'AKIA', secretAccessKey: 'secret' },
      requestTimeoutMs: 30_000,
    });
  });

  it('reads every setting, trimmed', () => {
    expect(
      readS3Config(
        env({
          S3_BUCKET_NAME: ' strata ',
          AWS_ACCESS_KEY_ID: ' AKIA ',
          AWS_SECRET_ACCESS_KEY: ' secret ',
          AWS_REGION: ' eu-west-1 ',
          S3_PREFIX: ' /tenant/a/ ',
          S3_ENDPOINT: ' http://127.0.0.1:9000 ',
          S3_FORCE_PATH_STYLE: 'true',
          S3_SSE: 'aws:kms',
          S3_REQUEST_TIMEOUT_MS: '5000',
        }),
      ),
    ).toEqual({
      configured: true,
      bucket: 'strata',
      region: 'eu-west-1',
      prefix: 'tenant/a',
      endpoint: 'http://127.0.0.1:9000',
      forcePathStyle: true,
      sse: 'aws:kms',
      credentials: { accessKeyId: 'AKIA', secretAccessKey: 'secret' },
      requestTimeoutMs: 5000,
    });
  });

  it.each([
    [{}, ['S3_BUCKET_NAME', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']],
    [{ ...required, S3_BUCKET_NAME: '   ' }, ['S3_BUCKET_NAME']],
    [{ ...required, AWS_ACCESS_KEY_ID: undefined }, ['AWS_ACCESS_KEY_ID']],
    [{ ...required, AWS_SECRET_ACCESS_KEY: '' }, ['AWS_SECRET_ACCESS_KEY']],
    [{ S3_BUCKET_NAME: 'strata' }, ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']],
  ])('%j is not configured: missing %j', (values, missing) => {
    expect(readS3Config(env(values))).toEqual({ configured: false, missing, problem: `S3 is not configured: set ${missing.join(', ')}.` });
  });

  it.each(['AES256', 'aws:kms', 'none', ' AES256 '])('accepts S3_SSE=%j', (sse) => {
    expect(readS3Config(env({ ...required, S3_SSE: sse }))).toMatchObject({ configured: true, sse: sse.trim() });
  });

  it.each(['aes256', 'kms', 'AES-256', 'true'])('refuses S3_SSE=%j', (sse) => {
    expect(readS3Config(env({ ...required, S3_SSE: sse }))).toEqual({
      configured: false,
      missing: [],
      problem: 'S3_SSE must be one of AES256, aws:kms, none.',
    });
  });

  it.each([
    ['tenant', 'tenant'],
    ['a/b_c-d.e', 'a/b_c-d.e'],
    ['//tenant//', 'tenant'],
    ['/', ''],
    ['   ', ''],
  ])('reads S3_PREFIX=%j as %j', (value, prefix) => {
    expect(readS3Config(env({ ...required, S3_PREFIX: value }))).toMatchObject({ configured: true, prefix });
  });

  it.each(['a b', 'a//b', 'tenant/é', 'a\\b', 'a?b', 'a\u0000b'])('refuses S3_PREFIX=%j', (value) => {
    expect(readS3Config(env({ ...required, S3_PREFIX: value }))).toEqual({
      configured: false,
      missing: [],
      problem: 'S3_PREFIX may hold only letters, digits, ".", "_", "-" and "/".',
    });
  });

  it.each([
    ['1', true],
    ['true', true],
    ['YES', true],
    ['false', false],
    ['0', false],
    ['on', false],
    ['', false],
  ])('reads S3_FORCE_PATH_STYLE=%j as %s', (value, forcePathStyle) => {
    expect(readS3Config(env({ ...required, S3_FORCE_PATH_STYLE: value }))).toMatchObject({ forcePathStyle });
  });

  it.each([
    ['5000', 5000],
    ['2.5e3', 2500],
    ['500', 1000], // at least a second
    ['-5', 1000],
    ['0', 30_000],
    ['soon', 30_000],
    ['', 30_000],
  ])('reads S3_REQUEST_TIMEOUT_MS=%j as %i ms', (value, requestTimeoutMs) => {
    expect(readS3Config(env({ ...required, S3_REQUEST_TIMEOUT_MS: value }))).toMatchObject({ requestTimeoutMs });
  });
});
