// strata migrate-local DIR: imports a folder of existing documents into S3
// and Postgres. *.json files become analysis documents; PDF, text, Markdown
// and CSV files become files (queued for processing). Layout: DIR/<user>/...
// where <user> is a user id or e-mail, or a flat DIR with --user. Ids are
// derived from (user, relative path), so a second run finds everything in
// place and changes nothing. Counts are verified at the end.
import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { putAnalysisDocument } from '../../supabase/functions/_shared/analyses/store.ts';
import type { S3Config } from '../../supabase/functions/_shared/config.ts';
import type { Sql } from '../../supabase/functions/_shared/db/client.ts';
import { DOCUMENT_TYPES, displayName, safeFileName, sniffMatches } from '../../supabase/functions/_shared/files/types.ts';
import { isUuid } from '../../supabase/functions/_shared/ids.ts';
import { sseParams } from '../../supabase/functions/_shared/s3/client.ts';
import { fileKey } from '../../supabase/functions/_shared/s3/keys.ts';

type ConfiguredS3 = Extract<S3Config, { configured: true }>;

/** DIR holds files directly and no folder names a user: without --user nothing says whose they are. */
export class FlatFolderError extends Error {
  override readonly name = 'FlatFolderError' as const;
  constructor(readonly dir: string, readonly files: number) {
    super(`${dir} holds ${files} file(s) and no folder named by a user id or e-mail: pass --user to import them as one user.`);
  }
}

export const isFlatFolderError = (error: unknown): error is FlatFolderError =>
  error instanceof Error && (error as { name?: string }).name === 'FlatFolderError';

export interface MigrateReport {
  scanned: number;
  imported: { files: number; analyses: number };
  unchanged: number;
  skipped: Array<{ path: string; reason: string }>;
  verified: { rows: number; objects: number; ok: boolean };
}

const EXTENSION_TYPES: Record<string, string> = {
  '.pdf': 'application/pdf',
  '.txt': 'text/plain',
  '.md': 'text/markdown',
  '.csv': 'text/csv',
  '.json': 'application/json',
};

/** A stable UUID (RFC 4122 layout, version 8) from a name: the same input always gives the same id. */
export function stableUuid(name: string): string {
  const hex = createHash('sha256').update(name).digest('hex').slice(0, 32).split('');
  hex[12] = '8';
  hex[16] = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  const h = hex.join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(full)));
    else if (entry.isFile()) out.push(full);
  }
  return out.sort();
}

/** The kind of an analysis document: its "kind" field, or its file name's leading word. */
function kindOf(fileName: string, document: unknown): string {
  const declared = (document as { kind?: unknown } | null)?.kind;
  if (typeof declared === 'string' && /^[a-z][a-z0-9_]{0,63}$/.test(declared)) return declared;
  const stem = path.basename(fileName, '.json').toLowerCase();
  for (const kind of ['repair_plan', 'transcript', 'analysis']) if (stem.startsWith(kind) || stem.includes(kind)) return kind;
  return 'analysis';
}

export async function migrateLocal(options: {
  sql: Sql;
  s3: S3Client;
  config: ConfiguredS3;
  dir: string;
  user?: string;
  onProgress?: (done: number, total: number) => void;
}): Promise<MigrateReport> {
  const { sql, s3, config } = options;
  const report: MigrateReport = { scanned: 0, imported: { files: 0, analyses: 0 }, unchanged: 0, skipped: [], verified: { rows: 0, objects: 0, ok: false } };

  const resolveUser = async (ref: string): Promise<string | null> => {
    const [row] = isUuid(ref)
      ? await sql<{ id: string }[]>`select id from auth.users where id = ${ref}`
      : await sql<{ id: string }[]>`select id from auth.users where lower(email) = lower(${ref})`;
    return row?.id ?? null;
  };

  // Which user owns which path.
  const work: Array<{ file: string; relative: string; userId: string }> = [];
  if (options.user) {
    const userId = await resolveUser(options.user);
    if (!userId) throw new Error(`no user ${options.user}`);
    for (const file of await walk(options.dir)) work.push({ file, relative: path.relative(options.dir, file), userId });
  } else {
    const entries = (await readdir(options.dir, { withFileTypes: true })).filter((entry) => !entry.name.startsWith('.'));
    const loose = entries.filter((entry) => entry.isFile()).map((entry) => path.join(options.dir, entry.name)).sort();
    const folders: Array<{ folder: string; userId: string | null }> = [];
    for (const entry of entries) {
      if (entry.isDirectory()) folders.push({ folder: path.join(options.dir, entry.name), userId: await resolveUser(entry.name) });
    }
    if (loose.length > 0 && !folders.some((f) => f.userId)) throw new FlatFolderError(options.dir, loose.length);
    for (const file of loose) report.skipped.push({ path: file, reason: 'not in a user folder (import a flat folder with --user)' });
    for (const { folder, userId } of folders) {
      if (!userId) {
        report.skipped.push({ path: folder, reason: 'no such user (name folders by user id or e-mail, or pass --user)' });
        continue;
      }
      for (const file of await walk(folder)) work.push({ file, relative: path.relative(folder, file), userId });
    }
  }
  report.scanned = work.length;

  const imported: Array<{ table: 'files' | 'analyses'; id: string; key: string }> = [];
  let done = 0;
  for (const item of work) {
    options.onProgress?.(++done, work.length);
    const contentType = EXTENSION_TYPES[path.extname(item.file).toLowerCase()];
    if (!contentType) {
      report.skipped.push({ path: item.file, reason: 'unsupported file type' });
      continue;
    }
    const id = stableUuid(`${item.userId}/${item.relative}`);
    const bytes = new Uint8Array(await readFile(item.file));
    const sha256 = createHash('sha256').update(bytes).digest('hex');

    if (contentType === 'application/json') {
      let document: unknown;
      try {
        document = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
      } catch {
        report.skipped.push({ path: item.file, reason: 'not valid JSON' });
        continue;
      }
      const [existing] = await sql<{ s3_key: string; sha256: string }[]>`select s3_key, sha256 from public.analyses where id = ${id}`;
      if (existing) {
        imported.push({ table: 'analyses', id, key: existing.s3_key });
        report.unchanged++;
        continue;
      }
      // Stored as found (its exact bytes), dated by the file's modification time.
      const mtime = (await stat(item.file)).mtime;
      const stored = await putAnalysisDocument(s3, config, item.userId, new TextDecoder().decode(bytes), { id, at: mtime });
      await sql`
        insert into public.analyses (id, user_id, kind, s3_key, size, sha256, status, created_at, updated_at)
        values (${id}, ${item.userId}, ${kindOf(item.file, document)}, ${stored.s3_key}, ${stored.size}, ${stored.sha256}, 'stored', ${mtime}, ${mtime})
        on conflict (id) do nothing`;
      imported.push({ table: 'analyses', id, key: stored.s3_key });
      report.imported.analyses++;
      continue;
    }

    if (!sniffMatches(contentType, bytes.subarray(0, 512))) {
      report.skipped.push({ path: item.file, reason: `content is not ${contentType}` });
      continue;
    }
    const name = path.basename(item.file);
    const key = fileKey(config.prefix, item.userId, id, safeFileName(name));
    const [existing] = await sql<{ sha256: string | null }[]>`select sha256 from public.files where id = ${id}`;
    if (existing) {
      imported.push({ table: 'files', id, key });
      report.unchanged++;
      continue;
    }
    await s3.send(new PutObjectCommand({
      Bucket: config.bucket, Key: key, Body: bytes, ContentType: contentType,
      Metadata: { sha256 }, ...sseParams(config),
    }));
    await sql.begin(async (tx) => {
      await tx`
        insert into public.files (id, user_id, name, original_name, size, content_type, s3_key, sha256)
        values (${id}, ${item.userId}, ${displayName(name)}, ${name}, ${bytes.length}, ${contentType}, ${key}, ${sha256})`;
      // Uploaded: the status change queues processing, as for any upload.
      await tx`update public.files set status = 'uploaded' where id = ${id}`;
    });
    imported.push({ table: 'files', id, key });
    report.imported.files++;
  }

  // Verify: every imported item has its row and its object.
  const fileIds = imported.filter((i) => i.table === 'files').map((i) => i.id);
  const analysisIds = imported.filter((i) => i.table === 'analyses').map((i) => i.id);
  const [{ files }] = await sql<{ files: number }[]>`select count(*)::int as files from public.files where id = any(${fileIds}::uuid[])`;
  const [{ analyses }] = await sql<{ analyses: number }[]>`select count(*)::int as analyses from public.analyses where id = any(${analysisIds}::uuid[])`;
  let objects = 0;
  for (const item of imported) {
    const ok = await s3.send(new HeadObjectCommand({ Bucket: config.bucket, Key: item.key })).then(() => true, () => false);
    if (ok) objects++;
  }
  report.verified = { rows: files + analyses, objects, ok: files + analyses === imported.length && objects === imported.length };
  return report;
}

export const SUPPORTED_EXTENSIONS = Object.keys(EXTENSION_TYPES);
export { DOCUMENT_TYPES };
