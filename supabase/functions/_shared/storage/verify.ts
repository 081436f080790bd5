// Compares the bucket with every metadata table: archives, files (and their
// derived extracted text) and analyses. Reports orphan objects (in S3, known
// to no row), missing objects (a row whose object is gone) and checksum
// mismatches (object metadata sha256 differs from the row's). A row it could
// not check (its folder could not be listed, or its HEAD failed) is
// "unchecked", never "missing": an S3 outage must not read as lost data. With
// fix, it deletes orphan objects older than a grace period (younger ones may
// be uploads in flight).
import { DeleteObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { S3Config } from '../config.ts';
import type { Sql } from '../db/client.ts';
import { inPool } from '../pool.ts';
import { isS3NotFound } from '../s3/errors.ts';
import { extractedTextKey, fileIncomingKey, isArchiveListingKey } from '../s3/keys.ts';
import { describeS3Error, listFolders, listKeys } from '../s3/objects.ts';

type ConfiguredS3 = Extract<S3Config, { configured: true }>;

export interface VerifyReport {
  objects: number;
  rows: number;
  orphans: Array<{ key: string; size: number; last_modified: string | null }>;
  missing: Array<{ table: string; id: string; key: string }>;
  mismatched: Array<{ table: string; id: string; key: string; expected: string; found: string | null }>;
  /** Rows neither found nor missing: `prefix` is the folder that could not be listed, or the key whose HEAD failed. */
  unchecked: Array<{ table: string; id: string; key: string; prefix: string; reason: string }>;
  unchecked_rows: number;
  /** Folders that could not be listed (their objects unseen), with how many rows under them went unchecked. */
  unlistable: Array<{ prefix: string; reason: string; unchecked_rows: number }>;
  grace_hours: number;
  /** Orphans younger than the grace period (or of unknown age): possibly uploads in flight, so fix keeps them. */
  young_orphans: number;
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
  const graceHours = options.graceHours ?? 24;
  const report: VerifyReport = {
    objects: 0,
    rows: 0,
    orphans: [],
    missing: [],
    mismatched: [],
    unchecked: [],
    unchecked_rows: 0,
    unlistable: [],
    grace_hours: graceHours,
    young_orphans: 0,
    deleted_orphans: 0,
  };

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
    derived.add(extractedTextKey(row.key));
    // A browser's upload lands in the staging key until complete copies it.
    if (row.status === 'pending_upload') derived.add(fileIncomingKey(row.key));
  }
  // Archives deleted for good: their job removes the object, then the row.
  for (const row of await sql<{ key: string }[]>`
      select s3_key as key from public.archived_conversations where status = 'deleting' and s3_key is not null`) {
    derived.add(row.key);
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
        // Keys listed before the failure still count as seen.
        report.unlistable.push({ prefix: folder, reason: describeS3Error('ListObjectsV2', error), unchecked_rows: 0 });
      }
    }
  }
  report.objects = seen.size;

  const graceMs = graceHours * 3_600_000;
  for (const [key, object] of seen) {
    if (expected.has(key) || derived.has(key) || isArchiveListingKey(key)) continue;
    report.orphans.push({ key, size: object.size, last_modified: object.lastModified?.toISOString() ?? null });
    if (!object.lastModified || Date.now() - object.lastModified.getTime() < graceMs) report.young_orphans++;
    else if (options.fix) {
      await s3.send(new DeleteObjectCommand({ Bucket: config.bucket, Key: key }));
      report.deleted_orphans++;
    }
  }

  const unchecked = (row: Expected, key: string, prefix: string, reason: string) =>
    report.unchecked.push({ table: row.table, id: row.id, key, prefix, reason });

  let checked = 0;
  // HEADs run a few at a time: a bucket of many thousands of archives is checked in seconds, not minutes.
  await inPool([...expected], 16, async ([key, row]) => {
    options.onProgress?.('checking', ++checked, expected.size);
    if (!seen.has(key)) {
      // Not seen because its folder could not be listed: unknown, not missing.
      const folder = report.unlistable.find((u) => key.startsWith(u.prefix));
      if (folder) {
        folder.unchecked_rows++;
        unchecked(row, key, folder.prefix, folder.reason);
      } else report.missing.push({ table: row.table, id: row.id, key });
      return;
    }
    if (!row.sha256) return;
    try {
      const head = await s3.send(new HeadObjectCommand({ Bucket: config.bucket, Key: key }));
      const found = head.Metadata?.sha256 ?? null;
      if (found !== row.sha256) report.mismatched.push({ table: row.table, id: row.id, key, expected: row.sha256, found });
    } catch (error) {
      if (isS3NotFound(error)) report.missing.push({ table: row.table, id: row.id, key });
      else unchecked(row, key, key, describeS3Error('HeadObject', error));
    }
  });
  report.unchecked_rows = report.unchecked.length;
  return report;
}
