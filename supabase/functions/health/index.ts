import { createHealthHandler } from '../_shared/health/handler.ts';
import { denoEnv } from '../_shared/config.ts';

Deno.serve(createHealthHandler(denoEnv, { name: 'deno', version: Deno.version.deno }));
