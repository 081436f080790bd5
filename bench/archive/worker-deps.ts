// What the benchmark's worker processes (one-conversation-worker.ts,
// cpu-worker.ts) share: WorkerDeps built the way jobs/handler.ts builds them,
// from process.env; readings of this process's /proc status; and parking /
// un-parking archive jobs so that only the measured process runs them.
import { readProcessCpuMs, readStatus, resetPeak } from '../proc.ts';
import { readS3Config, type EnvGetter } from '../../supabase/functions/_shared/config.ts';
import { createSql } from '../../supabase/functions/_shared/db/client.ts';
import { createS3Client } from '../../supabase/functions/_shared/s3/client.ts';
import { createJobHandlers } from '../../supabase/functions/_shared/jobs/handlers.ts';
import { readWorkerSettings } from '../../supabase/functions/_shared/jobs/settings.ts';
import type { WorkerDeps } from '../../supabase/functions/_shared/jobs/worker.ts';

export function createBenchWorkerDeps(name: string): WorkerDeps {
  const env: EnvGetter = (key) => process.env[key];
  const s3Config = readS3Config(env);
  const settings = readWorkerSettings(env);
  if (!s3Config.configured) throw new Error(s3Config.problem);
  const dbUrl = env('SUPABASE_DB_URL');
  if (!dbUrl) throw new Error('SUPABASE_DB_URL is not set');
  const workerId = `${name}-${process.pid}`;
  return {
    sql: createSql(dbUrl, { max: settings.dbPoolSize, applicationName: `strata-${name}` }),
    s3: createS3Client(s3Config),
    s3Config,
    settings,
    handlers: createJobHandlers(env),
    workerId,
    log: (message) => process.stderr.write(`[${workerId}] ${message}\n`),
  };
}

export async function closeBenchWorkerDeps(deps: WorkerDeps): Promise<void> {
  await deps.sql.end({ timeout: 5 });
  deps.s3?.destroy();
}

/** A field of this process's /proc status in kB (VmRSS, VmHWM), or null. */
export function vmKb(field: 'VmRSS' | 'VmHWM'): number | null {
  const status = readStatus('self');
  return status ? (field === 'VmRSS' ? status.rssKb : status.hwmKb) : null;
}

/** Resets this process's VmHWM to its current RSS (Linux ≥ 4.0); true when it took. */
export const resetPeakRss = (): boolean => resetPeak('self').ok;

/** User + system CPU of this process (all threads), in ms: what jobs/budget.ts counts. */
export const processCpuMs = (): number => readProcessCpuMs('self');
