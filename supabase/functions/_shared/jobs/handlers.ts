// Every job kind Strata runs, one handler each, from its capability's folder.
// Adding a kind: register it in SQL (private.job_kinds, in its capability's
// migration), write its handler beside the code it belongs to, list it here.
import { analysisJobHandlers } from '../analyses/jobs.ts';
import { archiveJobHandlers } from '../archive/jobs.ts';
import type { EnvGetter } from '../config.ts';
import { erasureJobHandlers } from '../erasure/jobs.ts';
import { fileJobHandlers } from '../files/jobs.ts';
import type { JobHandler } from './registry.ts';

export function createJobHandlers(env: EnvGetter): JobHandler[] {
  return [...archiveJobHandlers(env), ...erasureJobHandlers(), ...fileJobHandlers(env), ...analysisJobHandlers()];
}
