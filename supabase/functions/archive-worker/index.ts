import { createWorkerHandler } from '../_shared/jobs/handler.ts';
import { denoEnv } from '../_shared/config.ts';

Deno.serve(createWorkerHandler(denoEnv));
