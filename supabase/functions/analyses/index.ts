import { createAnalysesHandler } from '../_shared/analyses/api.ts';
import { denoEnv } from '../_shared/config.ts';

Deno.serve(createAnalysesHandler(denoEnv));
