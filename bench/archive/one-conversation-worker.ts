// Runs Strata's archive worker code (drainJobs, unchanged) in its own Node
// process so its peak memory can be measured. Deps are built the way
// jobs/handler.ts builds them, from process.env. Run by run.ts as:
//   node --import tsx bench/archive/one-conversation-worker.ts <conversation_id>
// Prints one JSON line on stdout: the drain summary, elapsed ms and VmHWM.
import { readFileSync } from 'node:fs';
import { readS3Config, type EnvGetter } from '../../supabase/functions/_shared/config.ts';
import { createSql } from '../../supabase/functions/_shared/db/client.ts';
import { createS3Client } from '../../supabase/functions/_shared/s3/client.ts';
import { createJobHandlers } from '../../supabase/functions/_shared/jobs/handlers.ts';
import { readWorkerSettings } from '../../supabase/functions/_shared/jobs/settings.ts';
import { drainJobs, type WorkerDeps } from '../../supabase/functions/_shared/jobs/worker.ts';

const conversationId = process.argv[2];
if (!conversationId) throw new Error('usage: one-conversation-worker.ts <conversation_id>');

const env: EnvGetter = (name) => process.env[name];
const s3Config = readS3Config(env);
const settings = readWorkerSettings(env);
if (!s3Config.configured) throw new Error(s3Config.problem);
const dbUrl = env('SUPABASE_DB_URL');
if (!dbUrl) throw new Error('SUPABASE_DB_URL is not set');

const workerId = `bench-one-${process.pid}`;
const deps: WorkerDeps = {
  sql: createSql(dbUrl, { max: settings.dbPoolSize, applicationName: 'strata-bench-one-conversation' }),
  s3: createS3Client(s3Config),
  s3Config,
  settings,
  handlers: createJobHandlers(env),
  workerId,
  log: (message) => process.stderr.write(`[${workerId}] ${message}\n`),
};

function vmKb(field: string): number | null {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
  return match ? Number(match[1]) : null;
}

const rssBeforeKb = vmKb('VmRSS');
// The parent parked the job an hour ahead so no other worker takes it; make
// it due right before claiming (this process then claims it within ms).
await deps.sql`update private.jobs set run_after = now()
                where kind = 'archive_conversation' and subject_id = ${conversationId} and status = 'pending'`;
const started = performance.now();
// The whole conversation in this one process, with no CPU limit: this measures its memory.
const summary = await drainJobs(deps, { cpuMs: Number.MAX_SAFE_INTEGER, wallMs: 3_600_000, memoryBytes: Number.MAX_SAFE_INTEGER });
const elapsedMs = performance.now() - started;
const hwmKb = vmKb('VmHWM');
const memory = process.memoryUsage();
await deps.sql.end({ timeout: 5 });
deps.s3?.destroy();

process.stdout.write(
  JSON.stringify({
    summary,
    elapsedMs,
    vmHwmMb: hwmKb === null ? null : hwmKb / 1024,
    rssBeforeMb: rssBeforeKb === null ? null : rssBeforeKb / 1024,
    heapUsedMb: memory.heapUsed / 1024 / 1024,
    externalMb: memory.external / 1024 / 1024,
    arrayBuffersMb: memory.arrayBuffers / 1024 / 1024,
  }) + '\n',
);
