// The archive's job kinds: archive_conversation (write the archive of a
// deleted conversation to S3, then, in one transaction, record it, finish the
// job and delete the rows) and delete_archive_object (delete exactly the
// object of one archive generation, then its index row when it was deleted
// for good). Registered in jobs/handlers.ts.
import type { EnvGetter } from '../config.ts';
import type { ClaimedJob, JobContext, JobHandler, JobOutcome } from '../jobs/registry.ts';
import { archiveKey, parseArchiveKey } from '../s3/keys.ts';
import { deleteEverything } from '../s3/objects.ts';
import { readArchiveSettings, type ArchiveSettings } from './settings.ts';
import { continueMultipart } from './multipart.ts';
import { readSmallSnapshot, type SnapshotHead } from './snapshot.ts';
import { buildBuffered, putBuffered, type StoredArchive } from './upload.ts';

export interface ArchiveResult {
  outcome: JobOutcome;
  /** When stored: 'put' (one PutObject) or 'multipart' (streamed). */
  upload?: 'put' | 'multipart';
}

/**
 * Archives one conversation. Small conversations (most) are read in one
 * statement and uploaded with one PutObject, with no connection held during
 * the upload; large ones go into a multipart upload that continues over as
 * many invocations as it needs (archive/multipart.ts). The document's archived_at is the moment the
 * conversation froze, so every attempt writes the same bytes to the same key
 * (the job's generation); the index records when S3 acknowledged.
 */
export async function archiveConversation(ctx: JobContext, job: ClaimedJob, settings: ArchiveSettings): Promise<ArchiveResult> {
  const { sql, s3, s3Config, workerId } = ctx;
  const generation = typeof job.payload?.generation === 'string' ? job.payload.generation : null;
  const targetFor = (head: SnapshotHead) => ({
    s3,
    config: s3Config,
    key: archiveKey(s3Config.prefix, head.userId, job.subject_id, generation!),
    conversationId: job.subject_id,
    head,
    archivedAt: head.deletedAt ?? new Date().toISOString(),
  });
  let stored: StoredArchive | null = null;
  // A multipart upload under way continues; otherwise the size decides.
  const resuming = job.payload?.multipart !== undefined;
  const small = generation ? await readSmallSnapshot(sql, job.subject_id, resuming ? -1 : settings.streamAboveBytes) : null;
  if (small && small.messagesText !== null) {
    const text = small.messagesText;
    const target = targetFor(small.head);
    const built = await buildBuffered(small.head, async (onMessages) => void (text ? await onMessages([text]) : undefined), target.archivedAt);
    stored = await putBuffered(target, built);
  } else if (small) {
    const result = await continueMultipart(ctx, job, targetFor(small.head), settings.partBytes);
    if ('yielded' in result) return { outcome: 'yielded', upload: 'multipart' };
    if ('lost' in result) return { outcome: 'lost', upload: 'multipart' };
    stored = result.stored;
  }
  if (!stored) {
    // The conversation (or its index row) is gone: its user was erased, or it was purged.
    await sql`select private.finish_job(${job.job_id}, ${workerId})`;
    return { outcome: 'skipped' };
  }
  const [{ completed }] = await sql<{ completed: boolean }[]>`
    select private.complete_archive(${job.job_id}, ${workerId}, ${job.subject_id},
                                    ${sql.json({ ...stored, generation, user_id: small!.head.userId } as never)}) as completed`;
  // Not completed: another worker holds the job and writes the same key with
  // the same content, or the generation is gone and SQL queued its deletion.
  return { outcome: completed ? 'done' : 'lost', upload: stored.multipart ? 'multipart' : 'put' };
}

/**
 * Deletes exactly the archive object its job names (every version), then
 * finishes the job (and, for a permanent delete, removes the index row of
 * that generation). The key was fixed in SQL when the job was queued.
 */
export async function deleteArchiveObject(ctx: JobContext, job: ClaimedJob): Promise<JobOutcome> {
  const { sql, s3, s3Config, workerId } = ctx;
  const key = job.payload?.s3_key;
  if (typeof key !== 'string' || parseArchiveKey(s3Config.prefix, key)?.generation !== job.subject_id) {
    throw new Error('delete_archive_object job does not name a key of its generation');
  }
  await deleteEverything(s3, s3Config.bucket, { key });
  const [{ completed }] = await sql<{ completed: boolean }[]>`
    select private.complete_archive_object_delete(${job.job_id}, ${workerId}) as completed`;
  return completed ? 'done' : 'lost';
}

export function archiveJobHandlers(env: EnvGetter): JobHandler[] {
  const settings = readArchiveSettings(env);
  return [
    {
      kind: 'archive_conversation',
      concurrency: settings.concurrency,
      // A 10-message conversation: read, serialise, gzip, hash, one PutObject (bench/archive).
      cpuMs: 3,
      run: async (ctx, job) => (await archiveConversation(ctx, job, settings)).outcome,
    },
    { kind: 'delete_archive_object', concurrency: 4, cpuMs: 2, run: deleteArchiveObject },
  ];
}
