// What the storage looks like: where it is, what the endpoint reports of its
// versioning and encryption, and the totals by kind from Postgres.
import { GetBucketEncryptionCommand, GetBucketVersioningCommand, type S3Client } from '@aws-sdk/client-s3';
import type { S3Config } from '../config.ts';
import type { Sql } from '../db/client.ts';
import { s3StatusOf } from '../s3/errors.ts';

type ConfiguredS3 = Extract<S3Config, { configured: true }>;

export interface StorageInfo {
  storage_type: 'aws-s3' | 's3-compatible';
  bucket: string;
  region: string;
  prefix: string | null;
  endpoint: string | null;
  versioning: string;
  encryption: string;
  totals: Record<'archives' | 'files' | 'analyses', { count: number; bytes: number }>;
}

const reported = async (fn: () => Promise<string>): Promise<string> => {
  try {
    return await fn();
  } catch (error) {
    const name = (error as { name?: string }).name;
    if (name === 'ServerSideEncryptionConfigurationNotFoundError') return 'none';
    const status = s3StatusOf(error);
    return `unknown (${name ?? 'error'}${status ? `, HTTP ${status}` : ''})`;
  }
};

export async function storageInfo(sql: Sql, s3: S3Client, config: ConfiguredS3): Promise<StorageInfo> {
  const [versioning, encryption] = await Promise.all([
    reported(async () => (await s3.send(new GetBucketVersioningCommand({ Bucket: config.bucket }))).Status ?? 'never enabled'),
    reported(async () => {
      const result = await s3.send(new GetBucketEncryptionCommand({ Bucket: config.bucket }));
      const rule = result.ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault;
      return rule?.SSEAlgorithm ?? 'none';
    }),
  ]);
  const [row] = await sql<{ archives: number; archive_bytes: number; files: number; file_bytes: number; analyses: number; analysis_bytes: number }[]>`
    select (select count(*) from public.archived_conversations where status = 'stored')::int as archives,
           (select coalesce(sum(bytes), 0) from public.archived_conversations where status = 'stored')::bigint as archive_bytes,
           (select count(*) from public.files where deleted_at is null)::int as files,
           (select coalesce(sum(size), 0) from public.files where deleted_at is null)::bigint as file_bytes,
           (select count(*) from public.analyses where deleted_at is null)::int as analyses,
           (select coalesce(sum(size), 0) from public.analyses where deleted_at is null)::bigint as analysis_bytes`;
  return {
    storage_type: config.endpoint ? 's3-compatible' : 'aws-s3',
    bucket: config.bucket,
    region: config.region,
    prefix: config.prefix || null,
    endpoint: config.endpoint ?? null,
    versioning,
    encryption,
    totals: {
      archives: { count: row!.archives, bytes: Number(row!.archive_bytes) },
      files: { count: row!.files, bytes: Number(row!.file_bytes) },
      analyses: { count: row!.analyses, bytes: Number(row!.analysis_bytes) },
    },
  };
}
