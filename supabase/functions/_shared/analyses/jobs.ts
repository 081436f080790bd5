// The analyses' job kind: delete_analysis (the document's object, then its
// row). Registered in jobs/handlers.ts.
import type { JobHandler } from '../jobs/registry.ts';
import { deleteRowObjects } from '../jobs/s3-first-delete.ts';

export const analysisJobHandlers = (): JobHandler[] => [
  { kind: 'delete_analysis', concurrency: 4, cpuMs: 2, run: (ctx, job) => deleteRowObjects(ctx, job, 'analyses', (key) => ({ key })) },
];
