import { createStorageHandler } from '../_shared/storage/handler.ts';
import { denoEnv } from '../_shared/config.ts';

Deno.serve(createStorageHandler(denoEnv));
