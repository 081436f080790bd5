import { createWorkerHandler } from '../_shared/archive/worker-handler.ts';
import { denoEnv } from '../_shared/config.ts';

Deno.serve(createWorkerHandler(denoEnv));
