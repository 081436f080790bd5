// The job worker (run by the archive-worker function, or `strata archive
// work`): claims due jobs from private.jobs (any number of workers may run at
// once) and does them: archive a conversation (S3 first, then the index row,
// the job and the delete in one transaction), erase a user's objects, process
// an uploaded file, delete a file's or document's objects then its row.
// Failures back off and dead-letter in the database; nothing is deleted
// unless S3 acknowledged.
import type { S3Client } from '@aws-sdk/client-s3';
import type { S3Config } from '../config.ts';
import type { Sql } from '../db/client.ts';
import { processFile } from '../files/process.ts';
import { analysisRoot, archiveKey, parseArchiveKey, userAnalysisPrefix, userPrefixes } from '../s3/keys.ts';
import { deleteEverything, describeS3Error, listFolders, listKeys } from '../s3/objects.ts';
import type { ArchiveSettings } from './settings.ts';
import { readSmallSnapshot, withSnapshot, type SnapshotHead } from '../archive/snapshot.ts';
import { buildBuffered, putBuffered, storeStreamed, type StoredArchive } from '../archive/upload.ts';

export interface WorkerDeps {
  sql: Sql;
  s3: S3Client | null;
  s3Config: S3Config;
  settings: ArchiveSettings;
  workerId: string;
  log: (message: string) => void;
}

export interface DrainSummary {
  worker: string;
  claimed: number;
  archived: number;
  erased_users: number;
  processed_files: number;
  deleted_objects: number;
  skipped: number;
  retrying: number;
  dead: number;
  lost: number;
  /** Set when the worker could not run at all (e.g. S3 not configured). */
  idle_reason?: string;
}

interface ClaimedJob {
  job_id: string;
  subject_id: string;
  user_id: string | null;
  attempts: number;
  max_attempts: number;
  /** Archive jobs: the generation being archived (it names the object). */
  generation?: string | null;
  /** What the job was queued with (e.g. the exact key to delete). */
  payload?: Record<string, unknown> | null;
}

/** Runs `fn` over items with at most `limit` in flight. */
async function inPool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  });
  await Promise.all(runners);
}

function describeError(error: unknown): string {
  if ((error as { $metadata?: unknown }).$metadata !== undefined) return describeS3Error('request', error);
  const code = (error as { code?: string }).code;
  if (code && /^E[A-Z]+$/.test(code)) return `S3 unreachable: ${code}`;
  if (code && /^[0-9A-Z]{5}$/.test(code)) return `database error ${code}`;
  const name = (error as { name?: string }).name;
  if (name === 'TimeoutError' || name === 'AbortError') return 'S3 request timed out';
  return `archive failed: ${(error as Error).message ?? String(error)}`.slice(0, 300);
}

export interface ArchiveOutcome {
  outcome: 'archived' | 'skipped' | 'lost';
  /** For archived: 'put' (one PutObject) or 'multipart' (streamed). */
  upload?: 'put' | 'multipart';
}

export async function archiveOne(deps: WorkerDeps, job: ClaimedJob): Promise<ArchiveOutcome> {
  const { sql, s3, s3Config, settings, workerId } = deps;
  if (!s3 || !s3Config.configured) throw new Error('S3 is not configured');
  // Small conversations (most) are read in one statement and uploaded with
  // one PutObject; large ones stream from a repeatable-read snapshot straight
  // into a multipart upload. Either way no connection is held during a small
  // upload. The document's archived_at is the moment the conversation froze,
  // so every attempt writes the same bytes (the index records when S3 acknowledged).
  if (!job.generation) {
    // No index row: the conversation was purged or its user erased.
    await sql`select private.finish_job(${job.job_id}, ${workerId})`;
    return { outcome: 'skipped' };
  }
  const generation = job.generation;
  const targetFor = (head: SnapshotHead) => ({
    s3,
    config: s3Config,
    key: archiveKey(s3Config.prefix, head.userId, job.subject_id, generation),
    conversationId: job.subject_id,
    head,
    archivedAt: head.deletedAt ?? new Date().toISOString(),
  });
  let stored: StoredArchive | null = null;
  const small = await readSmallSnapshot(sql, job.subject_id, settings.streamAboveBytes);
  if (small && small.messagesText !== null) {
    const text = small.messagesText;
    const target = targetFor(small.head);
    const built = await buildBuffered(small.head, async (onMessages) => void (text ? await onMessages([text]) : undefined), target.archivedAt);
    stored = await putBuffered(target, built);
  } else if (small) {
    stored = await withSnapshot(sql, job.subject_id, async (head, readMessages) =>
      head ? storeStreamed({ ...targetFor(head), readMessages, partBytes: settings.partBytes }) : null,
    );
  }
  if (!stored) {
    // The conversation is gone (its user was erased, or it was purged): nothing to keep.
    await sql`select private.finish_job(${job.job_id}, ${workerId})`;
    return { outcome: 'skipped' };
  }
  const [{ completed }] = await sql<{ completed: boolean }[]>`
    select private.complete_archive(${job.job_id}, ${workerId}, ${job.subject_id},
                                    ${sql.json({ ...stored, generation, user_id: small?.head.userId ?? job.user_id } as never)}) as completed`;
  // A lost lease means another worker holds the job and writes the same key
  // with the same content (or, if that generation is gone, SQL queued its deletion).
  return { outcome: completed ? 'archived' : 'lost', upload: stored.multipart ? 'multipart' : 'put' };
}

export async function eraseUserObjects(deps: WorkerDeps, job: ClaimedJob): Promise<number> {
  const { s3, s3Config } = deps;
  if (!s3 || !s3Config.configured) throw new Error('S3 is not configured');
  let deleted = 0;
  for (const prefix of userPrefixes(s3Config.prefix, job.subject_id)) {
    deleted += await deleteEverything(s3, s3Config.bucket, { prefix });
  }
  for (const prefix of await userAnalysisPrefixes(s3, s3Config.bucket, analysisRoot(s3Config.prefix), job.subject_id)) {
    deleted += await deleteEverything(s3, s3Config.bucket, { prefix });
  }
  await deps.sql`select private.finish_job(${job.job_id}, ${deps.workerId})`;
  return deleted;
}

/** Deletes a file's or analysis document's objects, then (in one transaction) its row and job. */
async function deleteS3Backed(deps: WorkerDeps, job: ClaimedJob, table: 'files' | 'analyses'): Promise<void> {
  const { sql, s3, s3Config } = deps;
  if (!s3 || !s3Config.configured) throw new Error('S3 is not configured');
  const [row] = table === 'files'
    ? await sql<{ s3_key: string }[]>`select s3_key from public.files where id = ${job.subject_id}`
    : await sql<{ s3_key: string }[]>`select s3_key from public.analyses where id = ${job.subject_id}`;
  if (row) {
    // A file's folder holds the upload and its derived objects (extracted text).
    const target = table === 'files' ? { prefix: row.s3_key.slice(0, row.s3_key.lastIndexOf('/') + 1) } : { key: row.s3_key };
    await deleteEverything(s3, s3Config.bucket, target);
  }
  await sql`select private.complete_delete(${job.job_id}, ${deps.workerId}, ${table}, ${job.subject_id})`;
}

/**
 * Deletes exactly the archive object its job names (every version), then
 * finishes the job (and, for a permanent delete, removes the index row of
 * that generation). The key was fixed in SQL when the job was queued.
 */
async function deleteArchiveObject(deps: WorkerDeps, job: ClaimedJob): Promise<void> {
  const { sql, s3, s3Config } = deps;
  if (!s3 || !s3Config.configured) throw new Error('S3 is not configured');
  const key = job.payload?.s3_key;
  if (typeof key !== 'string' || parseArchiveKey(s3Config.prefix, key)?.generation !== job.subject_id) {
    throw new Error('delete_archive_object job does not name a key of its generation');
  }
  await deleteEverything(s3, s3Config.bucket, { key });
  await sql`select private.complete_archive_object_delete(${job.job_id}, ${deps.workerId})`;
}

/** analysis/{yyyy}/{mm}/{user_id}/ folders of one user, found month by month. */
async function userAnalysisPrefixes(s3: S3Client, bucket: string, root: string, userId: string): Promise<string[]> {
  const years = await listFolders(s3, bucket, root);
  if (years.length > 0) {
    const prefixes: string[] = [];
    for (const year of years) {
      for (const month of await listFolders(s3, bucket, year)) prefixes.push(userAnalysisPrefix(month, userId));
    }
    return prefixes;
  }
  // Some S3-compatible servers (s3rver) report common prefixes only one level
  // above the objects; there, scan the analysis keys for this user's folders.
  const found = new Set<string>();
  const pattern = /^(\d{4}\/\d{2}\/)([0-9a-f-]{36})\//;
  for await (const object of listKeys(s3, bucket, root)) {
    const match = pattern.exec(object.key.slice(root.length));
    if (match && match[2] === userId) found.add(`${root}${match[1]}${userId}/`);
  }
  return [...found];
}

/** Claims and processes jobs until none are due or the time budget is spent. */
export async function drainJobs(deps: WorkerDeps, budgetMs = deps.settings.budgetMs): Promise<DrainSummary> {
  const { sql, settings, workerId, log } = deps;
  const summary: DrainSummary = { worker: workerId, claimed: 0, archived: 0, erased_users: 0, processed_files: 0, deleted_objects: 0, skipped: 0, retrying: 0, dead: 0, lost: 0 };
  if (!deps.s3Config.configured) {
    // Jobs wait in the table; nothing is deleted until S3 is configured.
    summary.idle_reason = deps.s3Config.problem;
    return summary;
  }
  const deadline = Date.now() + budgetMs;

  const fail = async (job: ClaimedJob, error: unknown, kind?: string) => {
    const message = describeError(error);
    const [{ status }] = await sql<{ status: string }[]>`
      select private.fail_job(${job.job_id}, ${workerId}, ${message}, ${settings.backoffBaseSeconds}) as status`;
    if (status === 'dead' && kind === 'process_file') {
      await sql`update public.files set status = 'failed', error = ${message} where id = ${job.subject_id} and deleted_at is null`;
    }
    if (status === 'dead') summary.dead++;
    else if (status === 'pending') summary.retrying++;
    else summary.lost++;
    log(`job ${job.job_id} (${job.subject_id}) attempt ${job.attempts}/${job.max_attempts} failed: ${message} → ${status}`);
  };

  // Erasures, file work and deletes first, in rounds; then archive lanes.
  while (Date.now() < deadline) {
    const erasures = await sql<ClaimedJob[]>`
      select job_id, subject_id, user_id, attempts, max_attempts
        from private.claim_jobs('erase_user_objects', ${workerId}, ${settings.batchSize}, ${settings.leaseSeconds})`;
    const others: Array<ClaimedJob & { kind: string }> = [];
    for (const kind of ['delete_archive_object', 'delete_file', 'delete_analysis', 'process_file']) {
      const claimed = await sql<ClaimedJob[]>`
        select job_id, subject_id, user_id, attempts, max_attempts, payload
          from private.claim_jobs(${kind}, ${workerId}, ${settings.batchSize}, ${settings.leaseSeconds})`;
      others.push(...claimed.map((job) => ({ ...job, kind })));
    }
    if (erasures.length === 0 && others.length === 0) break;
    summary.claimed += erasures.length + others.length;
    for (const job of erasures) {
      try {
        await eraseUserObjects(deps, job);
        summary.erased_users++;
      } catch (error) {
        await fail(job, error);
      }
    }
    const runOther = async (job: ClaimedJob & { kind: string }) => {
      try {
        if (job.kind === 'process_file') {
          const outcome = await processFile(sql, deps.s3!, deps.s3Config as Extract<S3Config, { configured: true }>, job.subject_id);
          await sql`select private.finish_job(${job.job_id}, ${workerId})`;
          if (outcome === 'processed') summary.processed_files++;
          else summary.skipped++;
        } else if (job.kind === 'delete_archive_object') {
          await deleteArchiveObject(deps, job);
          summary.deleted_objects++;
        } else {
          await deleteS3Backed(deps, job, job.kind === 'delete_file' ? 'files' : 'analyses');
          summary.deleted_objects++;
        }
      } catch (error) {
        await fail(job, error, job.kind).catch((e) => log(`could not record the failure of job ${job.job_id}: ${describeError(e)}`));
      }
    };
    // Deletes are light; processing holds whole documents, so fewer at once.
    await Promise.all([
      inPool(others.filter((job) => job.kind !== 'process_file'), settings.concurrency, runOther),
      inPool(others.filter((job) => job.kind === 'process_file'), settings.processConcurrency, runOther),
    ]);
  }

  // Archive lanes: each claims a small batch for itself and comes back for
  // more, so one slow conversation never idles the others.
  const laneBatch = Math.max(1, Math.ceil(settings.batchSize / settings.concurrency));
  const lane = async () => {
    while (Date.now() < deadline) {
      const jobs = await sql<ClaimedJob[]>`
        select job_id, conversation_id as subject_id, user_id, attempts, max_attempts, generation
          from private.claim_archive_jobs(${workerId}, ${laneBatch}, ${settings.leaseSeconds})`;
      if (jobs.length === 0) return;
      summary.claimed += jobs.length;
      for (const job of jobs) {
        try {
          const { outcome } = await archiveOne(deps, job);
          summary[outcome]++;
        } catch (error) {
          await fail(job, error).catch((e) => log(`could not record the failure of job ${job.job_id}: ${describeError(e)}`));
        }
      }
    }
  };
  await Promise.all(Array.from({ length: settings.concurrency }, lane));
  return summary;
}
