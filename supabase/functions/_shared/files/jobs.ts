// The files' job kinds: process_file (extract text, count, detect language)
// and delete_file (the file's folder — upload, staging copy, derived text —
// then its row). Registered in jobs/handlers.ts. A processing job that
// dead-letters fails its file in SQL (the files migration's job hook).
import type { EnvGetter } from '../config.ts';
import type { JobHandler } from '../jobs/registry.ts';
import { deleteRowObjects } from '../jobs/s3-first-delete.ts';
import { readInt } from '../settings.ts';
import { processFile } from './process.ts';

export function fileJobHandlers(env: EnvGetter): JobHandler[] {
  return [
    {
      kind: 'process_file',
      // Extraction holds whole documents in memory (256 MB per instance): few at once.
      concurrency: readInt(env, 'FILES_PROCESS_CONCURRENCY', 2, 1, 32),
      cpuMs: 30,
      run: async (ctx, job) => {
        const outcome = await processFile(ctx.sql, ctx.s3, ctx.s3Config, job.subject_id);
        const [{ finished }] = await ctx.sql<{ finished: boolean }[]>`select private.finish_job(${job.job_id}, ${ctx.workerId}) as finished`;
        return !finished ? 'lost' : outcome === 'processed' ? 'done' : 'skipped';
      },
    },
    {
      kind: 'delete_file',
      concurrency: 4,
      cpuMs: 2,
      run: (ctx, job) => deleteRowObjects(ctx, job, 'files', (key) => ({ prefix: key.slice(0, key.lastIndexOf('/') + 1) })),
    },
  ];
}
