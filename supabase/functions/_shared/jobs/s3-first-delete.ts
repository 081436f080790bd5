// The S3-first delete shared by files and analyses: the row's objects go
// first, then (in one transaction) its row and its job.
import type { ClaimedJob, JobContext, JobOutcome } from './registry.ts';
import { deleteEverything } from '../s3/objects.ts';

export async function deleteRowObjects(ctx: JobContext, job: ClaimedJob, table: 'files' | 'analyses', target: (key: string) => { prefix: string } | { key: string }): Promise<JobOutcome> {
  const { sql, s3, s3Config, workerId } = ctx;
  const [row] = table === 'files'
    ? await sql<{ s3_key: string }[]>`select s3_key from public.files where id = ${job.subject_id}`
    : await sql<{ s3_key: string }[]>`select s3_key from public.analyses where id = ${job.subject_id}`;
  if (row) await deleteEverything(s3, s3Config.bucket, target(row.s3_key));
  const [{ completed }] = await sql<{ completed: boolean }[]>`
    select private.complete_delete(${job.job_id}, ${workerId}, ${table}, ${job.subject_id}) as completed`;
  return completed ? 'done' : 'lost';
}
