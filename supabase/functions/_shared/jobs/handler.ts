// GET /functions/v1/archive-worker/status (service role): the queue per kind:
// due, backing off, running, dead, oldest due age, done in the last hour, last errors.
// POST /functions/v1/archive-worker: a wake-up. Whatever the body says (our
// pg_net call, a Database Webhook payload, the cron sweep), the worker takes
// its work from the job table. Only service credentials may call it: the
// service_role key, or a secret API key (auth/caller.ts).
// ?wait=true drains before answering (CLI, tests); otherwise it answers 202
// at once and drains in the background (EdgeRuntime.waitUntil on Supabase).
// Each drain logs one structured line: claimed, done, failed, CPU, memory.
import { requireService } from '../auth/caller.ts';
import { readPlatformConfig, readS3Config, type EnvGetter } from '../config.ts';
import { createSql } from '../db/client.ts';
import { errors } from '../http/errors.ts';
import { json } from '../http/respond.ts';
import { withHttp, type Handler } from '../http/serve.ts';
import { createS3Client } from '../s3/client.ts';
import { createJobHandlers } from './handlers.ts';
import type { JobHandler } from './registry.ts';
import { readWorkerSettings } from './settings.ts';
import { readJobStatus } from './status.ts';
import { drainJobs, type DrainSummary, type WorkerDeps } from './worker.ts';

const MAX_WAKE_BODY = 1024 * 1024;

type Background = (promise: Promise<unknown>) => void;
type OnBeforeUnload = (listener: () => void) => void;

function edgeRuntimeWaitUntil(): Background {
  const runtime = (globalThis as { EdgeRuntime?: { waitUntil(p: Promise<unknown>): void } }).EdgeRuntime;
  return runtime ? (p) => runtime.waitUntil(p) : (p) => void p;
}

/** The runtime's `beforeunload` event (Deno, the Edge Runtime); nothing where there is none (Node). */
const globalBeforeUnload: OnBeforeUnload = (listener) =>
  (globalThis as { addEventListener?: (type: string, fn: () => void) => void }).addEventListener?.('beforeunload', listener);

export interface WorkerHandlerOptions {
  /** Keeps a drain alive after the answer (EdgeRuntime.waitUntil by default). */
  background?: Background;
  workerName?: string;
  /** Registers the listener for the instance's beforeunload (the global event by default). */
  onBeforeUnload?: OnBeforeUnload;
  /** The job kinds (jobs/handlers.ts by default; tests add their own). */
  handlers?: JobHandler[];
}

export function createWorkerHandler(env: EnvGetter, options: WorkerHandlerOptions = {}): Handler {
  const platform = readPlatformConfig(env);
  const s3Config = readS3Config(env);
  const settings = readWorkerSettings(env);
  const handlers = options.handlers ?? createJobHandlers(env);
  const background = options.background ?? edgeRuntimeWaitUntil();
  const instance = `${options.workerName ?? 'edge'}-${crypto.randomUUID().slice(0, 8)}`;
  // A transaction-pooler URL (port 6543 on Supabase) suits many short-lived
  // instances better than the direct connection SUPABASE_DB_URL.
  const dbUrl = env('STRATA_DB_POOLER_URL')?.trim() || platform.dbUrl;
  let deps: Omit<WorkerDeps, 'workerId'> | null = null;
  // Drains running in this instance, by worker id; a few may overlap (each
  // is a worker), more wake-ups than that are already covered.
  const draining = new Set<string>();
  let invocation = 0;
  // Aborted at beforeunload: every drain of this instance stops claiming.
  const unload = new AbortController();

  const getDeps = () => {
    if (!dbUrl) throw errors.serviceUnavailable('SUPABASE_DB_URL is not set.');
    deps ??= {
      sql: createSql(dbUrl, { max: settings.dbPoolSize, applicationName: 'strata-archive-worker' }),
      s3: s3Config.configured ? createS3Client(s3Config) : null,
      s3Config,
      settings,
      handlers,
      log: (message) => console.log(`[archive-worker ${instance}] ${message}`),
    };
    return deps;
  };

  // The runtime is about to stop this instance (a limit is near, or it is
  // idle): its drains claim nothing more, and every job they hold is given
  // back, without counting the attempt, so the next wake-up (sent by the
  // stopping drain, reaching a fresh instance) continues at once instead of
  // waiting out the lease.
  (options.onBeforeUnload ?? globalBeforeUnload)(() => {
    unload.abort();
    if (!deps || draining.size === 0) return;
    const workers = [...draining];
    void Promise.all(workers.map((worker) => deps!.sql`select private.release_jobs(${worker})`)).catch(() => undefined);
  });

  const logSummary = (summary: DrainSummary) => {
    if (summary.claimed > 0 || summary.idle_reason || summary.stopped_by !== 'idle') {
      console.log(JSON.stringify({ event: 'strata.worker.drain', instance, ...summary }));
    }
  };

  const drain = async (workerId: string) => {
    draining.add(workerId);
    let summary: DrainSummary;
    try {
      summary = await drainJobs({ ...getDeps(), workerId, stop: unload.signal });
    } finally {
      draining.delete(workerId);
    }
    // A budget stopped it with work left: wake the next invocation now (after
    // this drain left the count, so the wake-up is not turned away as already
    // draining) rather than wait for the sweep. A drain that began after
    // beforeunload claimed nothing and wakes no one (the instance is retired,
    // so the stopping drain's wake-up already reached a fresh one).
    let woke = 0;
    if (summary.stopped_by !== 'idle' && !(summary.stopped_by === 'unload' && summary.claimed === 0)) {
      const [row] = await getDeps().sql<{ woke: number }[]>`
        select case when exists (select 1 from private.jobs where status = 'pending' and run_after <= now())
                    then private.wake_workers('archive-worker') else 0 end as woke`.catch(() => [{ woke: 0 }]);
      woke = row?.woke ?? 0;
    }
    logSummary({ ...summary, woke } as DrainSummary);
    return summary;
  };

  return withHttp(async (request) => {
    const path = new URL(request.url).pathname.replace(/\/+$/, '');
    if (path.endsWith('/status')) {
      if (request.method !== 'GET') throw errors.methodNotAllowed(request.method, ['GET']);
      requireService(request, platform);
      return json(await readJobStatus(getDeps().sql));
    }
    if (request.method !== 'POST') throw errors.methodNotAllowed(request.method, ['POST']);
    requireService(request, platform);
    // The body is only a wake-up; read it (bounded) and ignore it.
    const body = await request.arrayBuffer();
    if (body.byteLength > MAX_WAKE_BODY) throw errors.payloadTooLarge('A wake-up body must be under 1 MB.');
    getDeps();
    // Each invocation is its own worker id, so leases say who holds a job.
    const workerId = `${instance}-${++invocation}`;
    if (new URL(request.url).searchParams.get('wait') === 'true') return json(await drain(workerId));
    if (draining.size >= settings.maxDrains) return json({ accepted: true, already_draining: true }, 202);
    background(drain(workerId).catch((error) => console.error(`[archive-worker ${instance}] drain failed: ${(error as Error).message}`)));
    return json({ accepted: true }, 202);
  });
}
