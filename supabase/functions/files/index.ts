import { createFilesHandler } from '../_shared/files/api.ts';
import { denoEnv } from '../_shared/config.ts';

Deno.serve(createFilesHandler(denoEnv));
