// The erasure job kind: erase_user_objects deletes every S3 object under an
// erased user's prefixes (their rows went with auth.users). Registered in
// jobs/handlers.ts.
import type { S3Client } from '@aws-sdk/client-s3';
import type { ClaimedJob, JobContext, JobHandler, JobOutcome } from '../jobs/registry.ts';
import { analysisRoot, userAnalysisPrefix, userPrefixes } from '../s3/keys.ts';
import { deleteEverything, listFolders, listKeys } from '../s3/objects.ts';

export async function eraseUserObjects(ctx: JobContext, job: ClaimedJob): Promise<JobOutcome> {
  const { s3, s3Config, sql, workerId } = ctx;
  for (const prefix of userPrefixes(s3Config.prefix, job.subject_id)) {
    await deleteEverything(s3, s3Config.bucket, { prefix });
  }
  for (const prefix of await userAnalysisPrefixes(s3, s3Config.bucket, analysisRoot(s3Config.prefix), job.subject_id)) {
    await deleteEverything(s3, s3Config.bucket, { prefix });
  }
  const [{ finished }] = await sql<{ finished: boolean }[]>`select private.finish_job(${job.job_id}, ${workerId}) as finished`;
  return finished ? 'done' : 'lost';
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

export const erasureJobHandlers = (): JobHandler[] => [
  { kind: 'erase_user_objects', concurrency: 1, cpuMs: 20, run: eraseUserObjects },
];
