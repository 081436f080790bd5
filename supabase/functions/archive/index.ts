import { createArchiveHandler } from '../_shared/archive/api.ts';
import { denoEnv } from '../_shared/config.ts';

Deno.serve(createArchiveHandler(denoEnv));
