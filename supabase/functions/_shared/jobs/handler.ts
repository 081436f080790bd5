// POST /functions/v1/archive-worker: a wake-up. Whatever the body says (our
// pg_net call, a Database Webhook payload, the cron sweep), the worker takes
// its work from the job table. Only the service role key may call it.
// ?wait=true drains before answering (CLI, tests); otherwise it answers 202
// at once and drains in the background (EdgeRuntime.waitUntil on Supabase).
import { requireService } from '../auth/caller.ts';
import { readPlatformConfig, readS3Config, type EnvGetter } from '../config.ts';
import { createSql } from '../db/client.ts';
import { errors } from '../http/errors.ts';
import { json } from '../http/respond.ts';
import { withHttp, type Handler } from '../http/serve.ts';
import { createS3Client } from '../s3/client.ts';
import { readArchiveSettings } from './settings.ts';
import { drainJobs, type WorkerDeps } from './worker.ts';

const MAX_WAKE_BODY = 1024 * 1024;

type Background = (promise: Promise<unknown>) => void;

function edgeRuntimeWaitUntil(): Background {
  const runtime = (globalThis as { EdgeRuntime?: { waitUntil(p: Promise<unknown>): void } }).EdgeRuntime;
  return runtime ? (p) => runtime.waitUntil(p) : (p) => void p;
}

export function createWorkerHandler(env: EnvGetter, options: { background?: Background; workerName?: string } = {}): Handler {
  const platform = readPlatformConfig(env);
  const s3Config = readS3Config(env);
  const settings = readArchiveSettings(env);
  const background = options.background ?? edgeRuntimeWaitUntil();
  const instance = `${options.workerName ?? 'edge'}-${crypto.randomUUID().slice(0, 8)}`;
  let deps: WorkerDeps | null = null;
  // Background drains running in this instance; a few may overlap (each is a
  // worker), more wake-ups than that are already covered.
  let draining = 0;
  let invocation = 0;

  const getDeps = (): WorkerDeps => {
    if (!platform.dbUrl) throw errors.serviceUnavailable('SUPABASE_DB_URL is not set.');
    deps ??= {
      sql: createSql(platform.dbUrl, { max: settings.concurrency * 2 + 2, applicationName: 'strata-archive-worker' }),
      s3: s3Config.configured ? createS3Client(s3Config) : null,
      s3Config,
      settings,
      workerId: instance,
      log: (message) => console.log(`[archive-worker ${instance}] ${message}`),
    };
    return deps;
  };

  return withHttp(async (request) => {
    if (request.method !== 'POST') throw errors.methodNotAllowed(request.method, ['POST']);
    requireService(request, platform.serviceRoleKey);
    // The body is only a wake-up; read it (bounded) and ignore it.
    const body = await request.arrayBuffer();
    if (body.byteLength > MAX_WAKE_BODY) throw errors.payloadTooLarge('A wake-up body must be under 1 MB.');
    const base = getDeps();
    // Each invocation is its own worker id, so leases say who holds a job.
    const workerDeps = { ...base, workerId: `${instance}-${++invocation}` };

    if (new URL(request.url).searchParams.get('wait') === 'true') {
      return json(await drainJobs(workerDeps));
    }
    if (draining >= settings.maxDrains) return json({ accepted: true, already_draining: true }, 202);
    draining++;
    const drain = drainJobs(workerDeps)
      .then((summary) => {
        if (summary.claimed > 0 || summary.idle_reason) console.log(`[archive-worker ${instance}] ${JSON.stringify(summary)}`);
      })
      .catch((error) => console.error(`[archive-worker ${instance}] drain failed: ${(error as Error).message}`))
      .finally(() => {
        draining--;
      });
    background(drain);
    return json({ accepted: true }, 202);
  });
}
