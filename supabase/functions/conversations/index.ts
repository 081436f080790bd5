import { createConversationsHandler } from '../_shared/conversations/api.ts';
import { denoEnv } from '../_shared/config.ts';

Deno.serve(createConversationsHandler(denoEnv));
