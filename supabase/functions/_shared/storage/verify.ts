// Compares the bucket with every metadata table: archives, files (and their
// derived extracted text) and analyses. Reports orphan objects (in S3, known
// to no row), missing objects (a row whose object is gone) and checksum
// mismatches (object metadata sha256 differs from the row's). With fix, it
// deletes orphan objects older than a grace period (younger ones may be
// uploads in flight).
import { DeleteObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { S3Config } from '../config.ts';
import type { Sql } from '../db/client.ts';
import { describeS3Error, listFolders, listKeys } from '../s3/objects.ts';

type ConfiguredS3 = Extract<S3Config, { configured: true }>;

export interface VerifyReport {
  objects: number;
  rows: number;
  orphans: Array<{ key: string; size: number; last_modified: string | null }>;
  missing: Array<{ table: string; id: string; key: string }>;
  mismatched: Array<{ table: string; id: string; key: string; expected: string; found: string | null }>;
  unlistable: Array<{ prefix: string; reason: string }>;
  deleted_orphans: number;
}

interface Expected {
  table: 'archived_conversations' | 'files' | 'analyses';
  id: string;
  sha256: string | null;
}

export async function verifyStorage(options: {
  sql: Sql;
  s3: S3Client;
  config: ConfiguredS3;
  fix?: boolean;
  graceHours?: number;
  onProgress?: (phase: string, done: number, total?: number) => void;
}): Promise<VerifyReport> {
  const { sql, s3, config } = options;
  const base = config.prefix ? `${config.prefix}/` : '';
  const report: VerifyReport = { objects: 0, rows: 0, orphans: [], missing: [], mismatched: [], unlistable: [], deleted_orphans: 0 };

  // Every key the database expects.
  const expected = new Map<string, Expected>();
  const derived = new Set<string>();
  for (const row of await sql<{ key: string; id: string; sha256: string }[]>`
      select s3_key as key, conversation_id as id, sha256 from public.archived_conversations where status = 'stored'`) {
    expected.set(row.key, { table: 'archived_conversations', id: row.id, sha256: row.sha256 });
  }
  for (const row of await sql<{ key: string; id: string; status: string }[]>`select s3_key as key, id, status from public.files`) {
    // A file awaiting its upload has no object yet.
    if (row.status !== 'pending_upload' && row.status !== 'failed') expected.set(row.key, { table: 'files', id: row.id, sha256: null });
    derived.add(`${row.key.slice(0, row.key.lastIndexOf('/'))}/extracted.txt`);
  }
  for (const row of await sql<{ key: string; id: string; sha256: string }[]>`select s3_key as key, id, sha256 from public.analyses`) {
    expected.set(row.key, { table: 'analyses', id: row.id, sha256: row.sha256 });
  }
  report.rows = expected.size;

  // Every key the bucket holds, folder by folder (one bad folder does not stop the rest).
  const seen = new Map<string, { size: number; lastModified?: Date }>();
  const roots = ['archived_conversations/', 'files/', 'analysis/'].map((r) => `${base}${r}`);
  for (const root of roots) {
    let folders = await listFolders(s3, config.bucket, root).catch(() => [] as string[]);
    if (folders.length === 0) folders = [root];
    for (const folder of folders) {
      try {
        for await (const object of listKeys(s3, config.bucket, folder)) {
          seen.set(object.key, { size: object.size, lastModified: object.lastModified });
          options.onProgress?.('listing', seen.size);
        }
      } catch (error) {
        report.unlistable.push({ prefix: folder, reason: describeS3Error('ListObjectsV2', error) });
      }
    }
  }
  report.objects = seen.size;

  const graceMs = (options.graceHours ?? 24) * 3_600_000;
  for (const [key, object] of seen) {
    if (expected.has(key) || derived.has(key) || key.endsWith('/metadata.json')) continue;
    report.orphans.push({ key, size: object.size, last_modified: object.lastModified?.toISOString() ?? null });
    if (options.fix && object.lastModified && Date.now() - object.lastModified.getTime() >= graceMs) {
      await s3.send(new DeleteObjectCommand({ Bucket: config.bucket, Key: key }));
      report.deleted_orphans++;
    }
  }

  let checked = 0;
  for (const [key, row] of expected) {
    options.onProgress?.('checking', ++checked, expected.size);
    if (!seen.has(key)) {
      report.missing.push({ table: row.table, id: row.id, key });
      continue;
    }
    if (!row.sha256) continue;
    try {
      const head = await s3.send(new HeadObjectCommand({ Bucket: config.bucket, Key: key }));
      const found = head.Metadata?.sha256 ?? null;
      if (found !== row.sha256) report.mismatched.push({ table: row.table, id: row.id, key, expected: row.sha256, found });
    } catch (error) {
      if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) report.missing.push({ table: row.table, id: row.id, key });
      else report.unlistable.push({ prefix: key, reason: describeS3Error('HeadObject', error) });
    }
  }
  return report;
}
