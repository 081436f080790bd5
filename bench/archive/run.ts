// Archive benchmark: starts its own isolated Strata stack (temporary state
// directory, free ports, random JWT secret), measures the archive pipeline
// against a raw PutObject reference and the seeds' in-request baseline, the
// worker's CPU per conversation, fairness against a flood of file jobs, the
// memory of one huge conversation archived in one go and under the hosted CPU
// budget, and gzip levels; prints one markdown table (also written to
// bench/archive/RESULTS.md), and stops the stack. The stack's worker runs as
// on Supabase: archive-worker instances of the local Edge Runtime (one Deno
// process each, the hosted limits); every run that uses them watches them
// (bench/instances.ts) and the exit code is 1 when anything was lost, an
// instance was killed at a hard limit or a request was answered 546.
// Run: node --import tsx bench/archive/run.ts
import { functionsEnvOf } from '../../src/dev/state.ts';
import { inPool } from '../../supabase/functions/_shared/pool.ts';
import { spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createGunzip, gunzipSync, gzipSync } from 'node:zlib';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import postgres from 'postgres';
import { PROJECT_ROOT } from '../../src/cli/project.ts';
import { readArchiveSettings } from '../../supabase/functions/_shared/archive/settings.ts';
import { createBaseline, readIndex, s3rverRepairs } from './baseline.ts';
import { assistantText, buildDocuments, corpusText, createBulkConversations, createRealisticConversations, createUsers, loadCorpus, type CreatedConversation } from './data.ts';
import { gzipBuffered, gzipStreamed, measureLevels, type LevelResult } from './gzip-levels.ts';
import { describeLifecycle, describeUsage, killedCount, peakHwmKb, unhealthy, watchInstances, type InstanceReport } from '../instances.ts';
import { readLoadavg } from '../proc.ts';
import type { ProfileSummary } from './profile.ts';
import { fmtInt, formatNumber, intEnv, percentile, progress, prng, runStarted, sleep } from '../common.ts';
import { startBenchStack } from '../stack.ts';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));

// ---------------------------------------------------------------- settings


const SIZES = {
  /** 1: conversations archived by Strata and PutObject'd raw. */
  conversations: intEnv('BENCH_CONVERSATIONS', 2000),
  /** Messages per realistic conversation (1, 2, 3). */
  messages: intEnv('BENCH_MESSAGES', 10),
  /** 1: extra archive-worker invocations (?wait=true) besides the pg_net wake-up. */
  workers: intEnv('BENCH_WORKERS', 4, 0),
  /** 1: PutObject concurrency of the raw reference. */
  rawConcurrency: intEnv('BENCH_RAW_CONCURRENCY', 8),
  /** 2: conversations deleted through the baseline, over this many users, this many at once. */
  baselineConversations: intEnv('BENCH_BASELINE_CONVERSATIONS', 1000),
  baselineUsers: intEnv('BENCH_BASELINE_USERS', 4),
  baselineConcurrency: intEnv('BENCH_BASELINE_CONCURRENCY', 8),
  /** 3: sequential single-row deletes (Strata, and again through the baseline). */
  latencyDeletes: intEnv('BENCH_LATENCY_DELETES', 500),
  /** 4: conversations in the bulk delete, over 10 users, with this many messages each. */
  bulkConversations: intEnv('BENCH_BULK_CONVERSATIONS', 10_000),
  bulkMessages: intEnv('BENCH_BULK_MESSAGES', 4),
  /** 6 and 9: messages in each of the two huge conversations. */
  bigMessages: intEnv('BENCH_BIG_MESSAGES', 200_000),
  /** 7: conversations archived by the measured worker process (and before it, to warm it up; and after it, under the profiler). */
  cpuConversations: intEnv('BENCH_CPU_CONVERSATIONS', 1000),
  cpuWarmup: intEnv('BENCH_CPU_WARMUP', 200, 0),
  cpuProfileConversations: intEnv('BENCH_CPU_PROFILE_CONVERSATIONS', 500, 0),
  /** 8: one user's deletes, one at a time at a steady rate, with and without file-processing jobs queued. */
  fairDeletes: intEnv('BENCH_FAIR_DELETES', 200),
  fairRatePerSecond: intEnv('BENCH_FAIR_RATE', 10),
  fairFiles: intEnv('BENCH_FAIR_FILES', 3000, 0),
  /** 9: the CPU budget of each invocation (the hosted default, WORKER_CPU_BUDGET_MS). */
  bigCpuBudgetMs: intEnv('BENCH_BIG_CPU_MS', 600),
  // 7: BENCH_CPU_PROFILE_OUT=<file>.cpuprofile also writes the raw profile (for Chrome DevTools).
  /** 10: MiB of text for the streamed (multipart) gzip measurement, per text. */
  gzipMiB: intEnv('BENCH_GZIP_MIB', 16),
  /** Conversations archived (and PutObject'd) before measuring, so nothing is measured cold. */
  warmup: intEnv('BENCH_WARMUP', 100, 0),
  /** Upper bound on any single wait. */
  stepTimeoutSeconds: intEnv('BENCH_STEP_TIMEOUT_SECONDS', 300),
};
const ARCHIVE = readArchiveSettings((name) => process.env[name]);
/** Message text: paragraphs of real prose (the installed packages' READMEs), or BENCH_TEXT=generated for the word generator. */
const CORPUS = process.env.BENCH_TEXT === 'generated' ? null : loadCorpus(path.join(PROJECT_ROOT, 'node_modules'));
const TEXT_SOURCE = CORPUS
  ? `message text cut from ${CORPUS.length} paragraphs of real English prose (the installed packages' README.md files)`
  : 'message text from a seeded Zipf word generator';

// ---------------------------------------------------------------- helpers

// The machine may be shared: the 1-minute load average (/proc/loadavg),
// sampled through the run, and all three at the start of each run.
const loads: number[] = [];
const loadSampler = setInterval(() => loads.push(readLoadavg()[0]), 5000);
loadSampler.unref();
const loadAtStart = readLoadavg();
const phaseLoads: Array<[string, [number, number, number]]> = [];
const notePhaseLoad = (phase: string) => phaseLoads.push([phase, readLoadavg()]);


/** Polls `check` every `intervalMs` until it returns true; a bounded number of times. */
async function waitFor(label: string, check: () => Promise<boolean>, intervalMs = 50, timeoutMs = SIZES.stepTimeoutSeconds * 1000): Promise<void> {
  const maxPolls = Math.ceil(timeoutMs / intervalMs);
  for (let poll = 0; poll < maxPolls; poll++) {
    if (await check()) return;
    await sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${label}`);
}




const fmt = (n: number, digits = 1) => formatNumber(n, digits);
const yes = (ok: boolean) => (ok ? '✅ yes' : '❌ no');
const signed = (n: number, digits = 0) => (n > 0 ? '+' : '') + fmt(n, digits);
const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');
const md5Base64 = (data: Uint8Array) => createHash('md5').update(data).digest('base64');

// ---------------------------------------------------------------- the stack

/** The archive-worker's drain summaries (one JSON line per drain), as the instances log them. */
interface DrainLine {
  at: number;
  instance: string;
  claimed: number;
  stopped_by: string;
  cpu_ms: number;
  peak_memory_mb: number;
  by_kind?: Record<string, { claimed: number; done: number; released: number }>;
}
const drainLines: DrainLine[] = [];
const bench = await startBenchStack({
  name: 'archive',
  onLog: (part, line) => {
    const at = line.indexOf('{"event":"strata.worker.drain"');
    if (part !== 'functions' || at < 0) return;
    try {
      drainLines.push({ at: performance.now(), ...(JSON.parse(line.slice(at)) as Omit<DrainLine, 'at'>) });
    } catch {
      // not a whole line
    }
  },
});
/** Every instance watch of the run, to check at the end that none was killed and no request got 546. */
const instanceReports: Array<[string, InstanceReport]> = [];
const watchWorker = (label: string) => {
  const watch = watchInstances(bench.stack.parts.functions, 'archive-worker');
  return () => {
    const report = watch.stop();
    instanceReports.push([label, report]);
    progress(`${label}: ${describeLifecycle(report)}; ${describeUsage(report)}`);
    return report;
  };
}

interface Row {
  metric: string;
  strata: string;
  reference: string;
  target: string;
  met: string;
}
const rows: Row[] = [];
const notes: string[] = [];
/** Run 10: gzip levels per compression path and text. */
const gzipTables: Array<{ path: string; text: string; results: LevelResult[] }> = [];

try {
  const info = bench.info;
  progress(`stack up: db ${info.dbUrl.replace(/\/\/[^@]*@/, '//')}, s3 ${info.s3Endpoint}, functions ${info.functionsUrl}`);

  const db = bench.postgres({ max: 16, connection: { application_name: 'strata-bench' } });
  const admin = bench.adminPostgres({ max: 1, connection: { application_name: 'strata-bench-admin' } });
  const bucket = info.s3Bucket;
  const s3Client = new S3Client({
    endpoint: info.s3Endpoint,
    forcePathStyle: true,
    region: info.s3Region,
    credentials: { accessKeyId: info.s3AccessKeyId, secretAccessKey: info.s3SecretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  bench.onShutdown(() => s3Client.destroy());

  // Nothing for a worker to do: no job running or due (a job parked ahead for a measured process does not count).
  const waitIdle = (label: string) =>
    waitFor(`no due or running jobs (${label})`, async () => {
      const [row] = await db<{ n: number }[]>`
        select count(*)::int as n from private.jobs where status = 'running' or (status = 'pending' and run_after <= now())`;
      return row!.n === 0;
    }, 100);

  /** Polls until every conversation of these users is archived (stored) and gone; returns ms since `since`. */
  const waitArchived = async (label: string, users: string[], expected: number, since: number) => {
    let last = '';
    let lastReport = performance.now();
    await waitFor(label, async () => {
      const [row] = await db<{ stored: number; remaining: number; failed: number }[]>`
        select (select count(*)::int from public.archived_conversations where user_id = any(${users}::uuid[]) and status = 'stored') as stored,
               (select count(*)::int from public.archived_conversations where user_id = any(${users}::uuid[]) and status = 'failed') as failed,
               (select count(*)::int from public.conversations where user_id = any(${users}::uuid[])) as remaining`;
      last = `${row!.stored}/${expected} stored, ${row!.remaining} rows left, ${row!.failed} failed`;
      if (performance.now() - lastReport > 5000) {
        lastReport = performance.now();
        progress(`  ${label}: ${last}`);
      }
      return row!.stored === expected && row!.remaining === 0;
    }, 50).catch((error) => {
      throw new Error(`${(error as Error).message} (${last})`);
    });
    return performance.now() - since;
  };

  /**
   * Strata's "nothing lost" check: each deleted conversation must have a
   * stored index row, no row left in conversations, and an S3 object whose
   * metadata sha256 equals the row's; a sample is also downloaded, gunzipped
   * and hashed.
   */
  const verifyStrata = async (ids: string[], sample: number) => {
    const archived = await db<{ conversation_id: string; status: string; sha256: string | null; s3_key: string | null; bytes: string | null }[]>`
      select conversation_id, status, sha256, s3_key, bytes from public.archived_conversations where conversation_id = any(${ids}::uuid[])`;
    const remaining = new Set((await db<{ id: string }[]>`select id from public.conversations where id = any(${ids}::uuid[])`).map((r) => r.id));
    const byId = new Map(archived.map((r) => [r.conversation_id, r]));
    let lost = 0;
    const reasons = new Map<string, number>();
    const miss = (reason: string) => {
      lost++;
      reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    };
    await inPool(ids, 16, async (id) => {
      const row = byId.get(id);
      if (!row || row.status !== 'stored' || !row.s3_key || !row.sha256) return miss(`no stored index row`);
      if (remaining.has(id)) return miss('conversation row still present');
      try {
        const head = await s3Client.send(new HeadObjectCommand({ Bucket: bucket, Key: row.s3_key }));
        if (head.Metadata?.sha256 !== row.sha256) return miss('object sha256 metadata differs from the index');
      } catch {
        return miss('object missing');
      }
    });
    let deepChecked = 0;
    let deepBad = 0;
    const step = Math.max(1, Math.floor(ids.length / Math.max(1, sample)));
    for (let i = 0; i < ids.length && deepChecked < sample; i += step) {
      const row = byId.get(ids[i]!);
      if (!row?.s3_key) continue;
      const object = await s3Client.send(new GetObjectCommand({ Bucket: bucket, Key: row.s3_key }));
      const json = gunzipSync(await object.Body!.transformToByteArray());
      deepChecked++;
      if (sha256(json) !== row.sha256) deepBad++;
    }
    return { lost, reasons: [...reasons].map(([r, n]) => `${n} ${r}`).join(', '), deepChecked, deepBad, rows: archived };
  };

  /**
   * Holds every wake-up of the Deno worker while a measured process works:
   * wake_workers sends nothing while the Vault secret with the API URL is
   * missing (pg_net wake-ups from triggers, the sweep's, and the measured
   * process's own self-wake when its budget is spent). bench/stack.ts's
   * pauseBackground stops only the relay the stack started, not one started
   * by resumeBackground (run 3 already paused and resumed once), so it is
   * not used here. Waits for the queue to empty and for the Deno worker's
   * drains to notice there is nothing due (they stop), then returns the
   * function that restores the secret.
   */
  const holdWakeUps = async () => {
    // Vault belongs to the platform: only the superuser may rename a secret (postgres, as hosted, may not).
    const renamed = await admin`update vault.secrets set name = 'strata_api_url (held by bench/archive)' where name = 'strata_api_url'`;
    if (renamed.count !== 1) throw new Error('no strata_api_url secret in the Vault to hold wake-ups with');
    const release = async () => {
      await admin`update vault.secrets set name = 'strata_api_url' where name = 'strata_api_url (held by bench/archive)'`;
    };
    try {
      await waitFor('the pg_net queue to empty', async () => (await db<{ n: number }[]>`select count(*)::int as n from net.http_request_queue`)[0]!.n === 0, 100);
      await waitIdle('before holding wake-ups');
      await sleep(1500);
    } catch (error) {
      await release();
      throw error;
    }
    return release;
  };

  const callWorker = async () => {
    const response = await fetch(`${info.functionsUrl}/archive-worker?wait=true`, {
      method: 'POST',
      headers: { authorization: `Bearer ${info.serviceRoleKey}`, 'content-type': 'application/json' },
      body: '{"bench":true}',
    });
    const body = (await response.json()) as Record<string, unknown>;
    if (!response.ok) throw new Error(`archive-worker answered ${response.status}: ${JSON.stringify(body)}`);
    return body;
  };

  // ======================================================= warm-up
  // A few conversations through both paths first, so neither is measured
  // cold (Deno's JIT, the worker's connection pool, the S3 clients).
  if (SIZES.warmup > 0) {
    notePhaseLoad('warm-up');
    progress(`warm-up: ${SIZES.warmup} conversations through the worker and PutObject`);
    const warmUsers = await createUsers(db, 2, 'bench-warmup');
    const warm = await createRealisticConversations(db, { users: warmUsers, count: SIZES.warmup, messagesPerConversation: SIZES.messages, seed: 9, corpus: CORPUS });
    const warmDocuments = await buildDocuments(db, warm.map((c) => c.id), new Date().toISOString());
    await inPool([...warmDocuments], SIZES.rawConcurrency, async ([id, json]) => {
      await s3Client.send(new PutObjectCommand({ Bucket: bucket, Key: `bench-warmup/${id}.json.gz`, Body: gzipSync(json) }));
    });
    await db`delete from public.conversations where user_id = any(${warmUsers}::uuid[])`;
    const calls = Array.from({ length: SIZES.workers }, () => callWorker().catch(() => undefined));
    await waitArchived('warm-up', warmUsers, SIZES.warmup, performance.now());
    await Promise.all(calls);
  }

  // ======================================================= 1. throughput
  notePhaseLoad('1');
  progress(`1. creating ${SIZES.conversations} conversations × ${SIZES.messages} messages (realistic text)`);
  const throughputUsers = await createUsers(db, 8, 'bench-throughput');
  const throughputConversations = await createRealisticConversations(db, {
    users: throughputUsers,
    count: SIZES.conversations,
    messagesPerConversation: SIZES.messages,
    seed: 1,
    corpus: CORPUS,
  });
  const throughputIds = throughputConversations.map((c) => c.id);
  const userOf = new Map(throughputConversations.map((c) => [c.id, c.userId]));

  progress('1. building the same archive documents in Node (format_version 1, gzip) for the raw reference');
  const documents = await buildDocuments(db, throughputIds, new Date().toISOString());
  const rawObjects = throughputIds.map((id) => {
    const json = documents.get(id)!;
    const body = gzipSync(json);
    const parsed = JSON.parse(json.toString('utf8')) as { conversation: { created_at: string; title: string | null }; archive_metadata: { archived_at: string; message_count: number } };
    const sha = sha256(json);
    // The same headers and metadata as the worker's PutObject (upload.ts).
    const metadata = {
      sha256: sha,
      'message-count': String(parsed.archive_metadata.message_count),
      'format-version': '1',
      'conversation-id': id,
      'user-id': userOf.get(id)!,
      'created-at': parsed.conversation.created_at,
      'archived-at': parsed.archive_metadata.archived_at,
      title: encodeURIComponent(parsed.conversation.title ?? '').slice(0, 1024).replace(/%[0-9A-F]?$/i, ''),
    };
    return { id, body, md5: md5Base64(body), metadata, jsonBytes: json.length, gzip9Bytes: gzipSync(json, { level: 9 }).length };
  });
  const rawJsonAvg = rawObjects.reduce((a, o) => a + o.jsonBytes, 0) / rawObjects.length;
  const rawGzAvg = rawObjects.reduce((a, o) => a + o.body.length, 0) / rawObjects.length;
  const rawGz9Avg = rawObjects.reduce((a, o) => a + o.gzip9Bytes, 0) / rawObjects.length;

  // The machine may be shared, so the reference and Strata are measured in
  // two halves in ABBA order (raw, Strata | Strata, raw) and summed, which
  // cancels a load that drifts during the run.
  const halves = [throughputUsers.slice(0, throughputUsers.length / 2), throughputUsers.slice(throughputUsers.length / 2)];
  const halfOf = (userId: string) => (halves[0]!.includes(userId) ? 0 : 1);
  const putRaw = async (concurrency: number, half: number) => {
    const objects = rawObjects.filter((o) => halfOf(userOf.get(o.id)!) === half);
    const started = performance.now();
    await inPool(objects, concurrency, async (o) => {
      await s3Client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: `bench-raw-${concurrency}/archived_conversations/${userOf.get(o.id)}/${o.id}.json.gz`,
          Body: o.body,
          ContentType: 'application/json',
          ContentEncoding: 'gzip',
          ContentMD5: o.md5,
          Metadata: o.metadata,
        }),
      );
    });
    const ms = performance.now() - started;
    progress(`1. raw reference, half ${half + 1}: PutObject of ${objects.length} objects, ${concurrency} at once: ${fmt(objects.length / (ms / 1000))} objects/s (${fmt(ms / 1000, 2)} s)`);
    return ms;
  };
  const manualSummaries: unknown[] = [];
  let deleteStatementMs = 0;
  // CPU of the archive-worker instances (one Deno process each) while they
  // archive the halves: a cross-check of run 7, from outside (/proc).
  let denoCpuMs = 0;
  let denoProcessCpuMs = 0;
  const throughputInstances: InstanceReport[] = [];
  const archiveHalf = async (half: number) => {
    const users = halves[half]!;
    const expected = throughputConversations.filter((c) => halfOf(c.userId) === half).length;
    await waitIdle('before a throughput half');
    const stopWatch = watchWorker(`1. instances, half ${half + 1}`);
    const started = performance.now();
    await db`delete from public.conversations where user_id = any(${users}::uuid[])`;
    deleteStatementMs += performance.now() - started;
    const calls = Array.from({ length: SIZES.workers }, () => callWorker().catch((error) => ({ error: String((error as Error).message) })));
    const ms = await waitArchived(`throughput half ${half + 1}`, users, expected, started);
    manualSummaries.push(...(await Promise.all(calls)));
    await sleep(1000); // the last drains end
    const instances = stopWatch();
    throughputInstances.push(instances);
    denoCpuMs += instances.cpuMs;
    denoProcessCpuMs += instances.processCpuMs;
    progress(`1. Strata, half ${half + 1}: one DELETE of ${expected} conversations, pg_net wake-up + ${SIZES.workers} extra worker invocation(s): ${fmt(expected / (ms / 1000))} conversations/s (${fmt(ms / 1000, 2)} s)`);
    return ms;
  };
  // The worker's own concurrency (ARCHIVE_CONCURRENCY, also about its
  // connection pool's cap), and every archive task the run may start at once.
  const nominalConcurrency = (1 + SIZES.workers) * ARCHIVE.concurrency;
  const wide = nominalConcurrency !== SIZES.rawConcurrency;
  let rawMs = 0;
  let rawWideMs = 0;
  let strataMs = 0;
  rawMs += await putRaw(SIZES.rawConcurrency, 0);
  if (wide) rawWideMs += await putRaw(nominalConcurrency, 0);
  strataMs += await archiveHalf(0);
  strataMs += await archiveHalf(1);
  if (wide) rawWideMs += await putRaw(nominalConcurrency, 1);
  rawMs += await putRaw(SIZES.rawConcurrency, 1);
  // Kept for run 10 (gzip levels on the same documents).
  const gzipDocuments = [...documents.values()];
  documents.clear();
  const rawRate = rawObjects.length / (rawMs / 1000);
  const rawWide = wide ? { rate: rawObjects.length / (rawWideMs / 1000) } : null;
  const strataRate = SIZES.conversations / (strataMs / 1000);
  const denoCpuPerConversation = denoCpuMs / SIZES.conversations;
  progress(`1. raw ${fmt(rawRate)} objects/s, Strata ${fmt(strataRate)} conversations/s (the DELETE statements took ${fmt(deleteStatementMs, 0)} ms in all); archive-worker instances' main-thread CPU ${fmt(denoCpuMs, 0)} ms = ${fmt(denoCpuPerConversation, 2)} ms per conversation (whole processes ${fmt(denoProcessCpuMs / SIZES.conversations, 2)})`);
  progress(`1. worker invocations: ${manualSummaries.map((s) => JSON.stringify(s)).join(' ')}`);

  progress('1. verifying every archive (HeadObject sha256 vs index) and a downloaded sample');
  const throughputCheck = await verifyStrata(throughputIds, 50);
  const strataBytesAvg = throughputCheck.rows.reduce((a, r) => a + Number(r.bytes ?? 0), 0) / Math.max(1, throughputCheck.rows.length);

  // ======================================================= 2. baseline
  notePhaseLoad('2');
  progress(`2. baseline: creating ${SIZES.baselineConversations} conversations over ${SIZES.baselineUsers} users`);
  const baselineUsers = await createUsers(db, SIZES.baselineUsers, 'bench-baseline');
  const baselineConversations = await createRealisticConversations(db, {
    users: baselineUsers,
    count: SIZES.baselineConversations,
    messagesPerConversation: SIZES.messages,
    seed: 2,
    corpus: CORPUS,
  });
  const baseline = createBaseline({ sql: db, s3: s3Client, bucket });
  progress(`2. baseline: deleting them, ${SIZES.baselineConcurrency} at once, archiving in the request path`);
  const baselineConcurrentLatencies: number[] = [];
  let baselineErrors = 0;
  const baselineStarted = performance.now();
  await inPool(baselineConversations, SIZES.baselineConcurrency, async (c) => {
    const started = performance.now();
    try {
      await baseline.deleteConversation(c.id);
    } catch (error) {
      baselineErrors++;
      if (baselineErrors <= 3) progress(`2. baseline delete failed: ${(error as Error).name}: ${(error as Error).message} ${(error as Error).stack?.split('\n').slice(1, 4).join(' | ')}`);
    }
    baselineConcurrentLatencies.push(performance.now() - started);
  });
  const baselineMs = performance.now() - baselineStarted;
  const baselineRate = SIZES.baselineConversations / (baselineMs / 1000);
  const baselineLost = await countBaselineLost(baselineConversations);
  progress(`2. baseline: ${fmt(baselineRate)} conversations/s, ${baselineLost} of ${SIZES.baselineConversations} index entries lost, ${baselineErrors} errors`);

  async function countBaselineLost(conversations: CreatedConversation[]): Promise<number> {
    const indexed = new Set<string>();
    for (const userId of new Set(conversations.map((c) => c.userId))) {
      const index = await readIndex(s3Client, bucket, userId);
      for (const entry of index?.conversations ?? []) indexed.add(entry.conversation_id);
    }
    return conversations.filter((c) => !indexed.has(c.id)).length;
  }

  // ======================================================= 3. latency
  // Two passes of sequential owner deletes: (a) as deployed here, with each
  // delete's wake-up reaching the worker, which archives on the same 2 cores
  // as Postgres while the deletes run; (b) with the relay and the scheduler
  // paused, so the worker stays idle (as when it runs on other machines) and
  // the wake-ups wait in the pg_net queue until they are restarted.
  const latencyUsers = await createUsers(db, 2, 'bench-latency');
  const latencyConversations = await createRealisticConversations(db, {
    users: latencyUsers,
    count: 2 * SIZES.latencyDeletes,
    messagesPerConversation: SIZES.messages,
    seed: 3,
    corpus: CORPUS,
  });
  const ownerDeletes = async (userId: string) => {
    const owner = postgres(info.dbUrl, { max: 1, onnotice: () => {}, connection: { application_name: 'strata-bench-postgrest' } });
    const transaction: number[] = [];
    const statement: number[] = [];
    try {
      await owner`select 1`;
      const claims = JSON.stringify({ sub: userId, role: 'authenticated' });
      for (const c of latencyConversations.filter((c) => c.userId === userId)) {
        const started = performance.now();
        await owner.begin(async (tx) => {
          await tx`select set_config('role', 'authenticated', true), set_config('request.jwt.claims', ${claims}, true)`;
          const statementStarted = performance.now();
          await tx`delete from public.conversations where id = ${c.id}`;
          statement.push(performance.now() - statementStarted);
        });
        transaction.push(performance.now() - started);
      }
    } finally {
      await owner.end({ timeout: 5 });
    }
    const queued = (await db<{ n: number }[]>`
      select count(*)::int as n from public.archived_conversations where user_id = ${userId}`)[0]!.n;
    if (queued !== SIZES.latencyDeletes) throw new Error(`latency run: only ${queued} of ${SIZES.latencyDeletes} deletes queued an archive`);
    return { transaction, statement };
  };

  await waitIdle('before the latency run');
  notePhaseLoad('3');
  progress(`3. latency (a): ${SIZES.latencyDeletes} sequential owner deletes (PostgREST-style transaction), worker archiving alongside`);
  const seqBeforeLatency = (await db<{ seq: string }[]>`select last_value::text as seq from net.http_request_queue_id_seq`)[0]!.seq;
  const liveLatency = await ownerDeletes(latencyUsers[0]!);
  const singleDeleteWakeups = Number((await db<{ seq: string }[]>`select last_value::text as seq from net.http_request_queue_id_seq`)[0]!.seq) - Number(seqBeforeLatency);
  await waitArchived('latency run (a) archives', [latencyUsers[0]!], SIZES.latencyDeletes, performance.now());

  progress(`3. latency (b): the same with the pg_net relay and the scheduler paused (worker idle)`);
  await bench.pauseBackground();
  const idleLatency = await ownerDeletes(latencyUsers[1]!);
  const held = (await db<{ n: number }[]>`select count(*)::int as n from net.http_request_queue`)[0]!.n;
  progress(`3. latency (b): ${held} wake-ups held in the pg_net queue; restarting the relay and the scheduler`);
  await bench.resumeBackground();
  await waitArchived('latency run (b) archives', [latencyUsers[1]!], SIZES.latencyDeletes, performance.now());
  const latencyCheck = await verifyStrata(latencyConversations.map((c) => c.id), 10);

  progress(`3. latency: the same number of sequential deletes through the baseline`);
  const [baselineLatencyUser] = await createUsers(db, 1, 'bench-baseline-latency');
  const baselineLatencyConversations = await createRealisticConversations(db, {
    users: [baselineLatencyUser!],
    count: SIZES.latencyDeletes,
    messagesPerConversation: SIZES.messages,
    seed: 3,
    corpus: CORPUS,
  });
  await waitIdle('before the baseline latency run');
  const baselineLatencies: number[] = [];
  for (const c of baselineLatencyConversations) {
    const started = performance.now();
    await baseline.deleteConversation(c.id);
    baselineLatencies.push(performance.now() - started);
  }
  const baselineSequentialLost = await countBaselineLost(baselineLatencyConversations);

  // ======================================================= 4. HTTP calls per bulk delete
  notePhaseLoad('4');
  const bulkUserCount = Math.min(10, SIZES.bulkConversations);
  const perUser = Math.ceil(SIZES.bulkConversations / bulkUserCount);
  progress(`4. bulk: creating ${perUser * bulkUserCount} conversations × ${SIZES.bulkMessages} messages with generate_series`);
  const bulkUsers = await createUsers(db, bulkUserCount, 'bench-bulk');
  const bulkTotal = await createBulkConversations(db, { users: bulkUsers, perUser, messagesPerConversation: SIZES.bulkMessages });
  const bulkIds = (await db<{ id: string }[]>`select id from public.conversations where user_id = any(${bulkUsers}::uuid[])`).map((r) => r.id);
  await waitIdle('before the bulk delete');
  await sleep(1500); // lets the relay write the responses of earlier requests
  const seqBefore = (await db<{ seq: string }[]>`select last_value::text as seq from net.http_request_queue_id_seq`)[0]!.seq;
  const responsesBefore = (await db<{ n: number }[]>`select count(*)::int as n from net._http_response`)[0]!.n;
  progress(`4. bulk: one DELETE of ${bulkTotal} conversations; only the pg_net wake-up and the 5 s sweep drive the worker`);
  const stopBulkWatch = watchWorker('4. instances');
  const bulkStarted = performance.now();
  const bulkDeletedAt = (await db<{ at: Date }[]>`
    with d as (delete from public.conversations where user_id = any(${bulkUsers}::uuid[]) returning 1)
    select clock_timestamp() as at`)[0]!.at;
  const bulkMs = await waitArchived('bulk delete', bulkUsers, bulkTotal, bulkStarted);
  // Let in-flight wake-ups finish and their responses land.
  await waitFor('the pg_net queue to empty', async () => {
    const [row] = await db<{ n: number }[]>`select count(*)::int as n from net.http_request_queue`;
    return row!.n === 0;
  }, 100);
  await sleep(2000);
  const bulkInstances = stopBulkWatch();
  const seqAfter = (await db<{ seq: string }[]>`select last_value::text as seq from net.http_request_queue_id_seq`)[0]!.seq;
  const responsesAfter = (await db<{ n: number }[]>`select count(*)::int as n from net._http_response`)[0]!.n;
  const bulkRequests = Number(seqAfter) - Number(seqBefore);
  const bulkResponses = responsesAfter - responsesBefore;
  const bulkCalls = Math.max(bulkRequests, bulkResponses);
  const bulkTarget = 1 + Math.ceil(bulkTotal / 50);
  progress(`4. bulk: archived in ${fmt(bulkMs / 1000, 1)} s (${fmt(bulkTotal / (bulkMs / 1000))} conversations/s); ${bulkRequests} pg_net requests, ${bulkResponses} responses`);
  const bulkTiming = (await db<{ first: number; gap: number; drains: number }[]>`
    select extract(epoch from min(finished_at) - ${bulkDeletedAt}::timestamptz)::float as first,
           extract(epoch from max(gap))::float as gap,
           (select count(distinct locked_by)::int from private.jobs where kind = 'archive_conversation' and user_id = any(${bulkUsers}::uuid[])) as drains
      from (select finished_at, finished_at - lag(finished_at) over (order by finished_at) as gap
              from private.jobs where kind = 'archive_conversation' and user_id = any(${bulkUsers}::uuid[])) g`)[0]!;
  progress(`4. bulk: first archive ${fmt(bulkTiming.first, 2)} s after the DELETE started, longest pause between completions ${fmt(bulkTiming.gap, 1)} s, ${bulkTiming.drains} worker invocation(s) did the work`);
  progress('4. verifying every bulk archive');
  const bulkCheck = await verifyStrata(bulkIds, 20);

  // ======================================================= 7. worker CPU per archived conversation
  // In a worker process of its own (cpu-worker.ts: drainJobs with the real
  // handlers and the settings' budget), process.cpuUsage() around each
  // invocation: the quantity jobs/budget.ts counts against WORKER_CPU_BUDGET_MS.
  notePhaseLoad('7');
  progress(`7. worker CPU: creating ${SIZES.cpuWarmup} + ${SIZES.cpuConversations} + ${SIZES.cpuProfileConversations} conversations × ${SIZES.messages} messages (realistic text)`);
  const cpuGroupUsers = async (label: string, count: number, seed: number) => {
    if (count === 0) return { users: [] as string[], ids: [] as string[] };
    const users = await createUsers(db, Math.min(4, count), label);
    const created = await createRealisticConversations(db, { users, count, messagesPerConversation: SIZES.messages, seed, corpus: CORPUS });
    return { users, ids: created.map((c) => c.id) };
  };
  const cpuWarm = await cpuGroupUsers('bench-cpu-warmup', SIZES.cpuWarmup, 71);
  const cpuMeasured = await cpuGroupUsers('bench-cpu', SIZES.cpuConversations, 72);
  const cpuProfiled = await cpuGroupUsers('bench-cpu-profile', SIZES.cpuProfileConversations, 73);
  const cpuAllUsers = [...cpuWarm.users, ...cpuMeasured.users, ...cpuProfiled.users];
  await waitIdle('before the CPU run');
  // Wake-ups are held so that only the measured process works (its
  // self-wake when its budget is spent sends nothing), and the jobs are
  // parked an hour ahead in the delete's own transaction.
  const releaseCpuWakeUps = await holdWakeUps();
  let cpuChild: CpuChildReport;
  try {
    await db.begin(async (tx) => {
      await tx`delete from public.conversations where user_id = any(${cpuAllUsers}::uuid[])`;
      await tx`update private.jobs set run_after = now() + interval '1 hour'
                where kind = 'archive_conversation' and user_id = any(${cpuAllUsers}::uuid[]) and status = 'pending'`;
    });
    progress(`7. archiving them in a separate Node process running drainJobs (WORKER_CPU_BUDGET_MS ${process.env.WORKER_CPU_BUDGET_MS ?? 'default 600'}), CPU from process.cpuUsage()`);
    cpuChild = await runNodeChild<CpuChildReport>('cpu-worker.ts', [JSON.stringify({ warmupUsers: cpuWarm.users, users: cpuMeasured.users, profileUsers: cpuProfiled.users, profileOut: process.env.BENCH_CPU_PROFILE_OUT })], '7');
  } finally {
    await releaseCpuWakeUps();
  }
  const sumOf = (list: CpuInvocation[], field: keyof CpuInvocation) => list.reduce((a, i) => a + Number(i[field]), 0);
  const cpuDone = sumOf(cpuChild.measured, 'done');
  const cpuTotalMs = sumOf(cpuChild.measured, 'cpuMs');
  const cpuPerConversation = cpuTotalMs / Math.max(1, cpuDone);
  const cpuFull = cpuChild.measured.filter((i) => i.stoppedBy === 'cpu');
  const cpuPerFullInvocation = cpuFull.length ? percentile(cpuFull.map((i) => i.done), 50) : NaN;
  const cpuIdleInvocation = percentile(cpuChild.idle.map((i) => i.cpuMs), 50);
  const cpuProfiledPerConversation = cpuChild.profiled.length ? sumOf(cpuChild.profiled, 'cpuMs') / Math.max(1, sumOf(cpuChild.profiled, 'done')) : NaN;
  progress(`7. ${cpuDone} conversations, ${fmt(cpuTotalMs, 0)} ms CPU in ${cpuChild.measured.length} invocation(s): ${fmt(cpuPerConversation, 2)} ms per conversation; ${fmt(cpuPerFullInvocation, 0)} per full-budget invocation; an idle invocation ${fmt(cpuIdleInvocation, 1)} ms`);
  const cpuCheck = await verifyStrata([...cpuWarm.ids, ...cpuMeasured.ids, ...cpuProfiled.ids], 10);

  // ======================================================= 8. fairness: one user's deletes with a flood of file jobs
  // One user deletes conversations one at a time at a steady rate; latency is
  // delete → stored in the database's own clock (archived_conversations:
  // deleted_at is the deleting transaction's time, archived_at the completing
  // one's). Once with no other work queued, once with real process_file jobs
  // queued for other users' files (rows in 'uploaded' with small text objects
  // in S3, queued with private.enqueue_job), the stack's Deno worker doing
  // all the work, woken as deployed (pg_net per statement, the 5 s sweep).
  notePhaseLoad('8');
  progress(`8. fairness: ${SIZES.fairDeletes} conversations for each of two passes, ${SIZES.fairFiles} text files in S3 for the second`);
  const fairUsers = await createUsers(db, 2, 'bench-fair');
  const fairPasses = [
    await createRealisticConversations(db, { users: [fairUsers[0]!], count: SIZES.fairDeletes, messagesPerConversation: SIZES.messages, seed: 81, corpus: CORPUS }),
    await createRealisticConversations(db, { users: [fairUsers[1]!], count: SIZES.fairDeletes, messagesPerConversation: SIZES.messages, seed: 82, corpus: CORPUS }),
  ];
  const fileUsers = SIZES.fairFiles > 0 ? await createUsers(db, Math.min(20, SIZES.fairFiles), 'bench-fair-files') : [];
  const fileRandom = prng(83);
  const fairFiles = Array.from({ length: SIZES.fairFiles }, (_, i) => {
    const id = randomUUID();
    const userId = fileUsers[i % fileUsers.length]!;
    const name = `notes-${i}.txt`;
    const text = CORPUS ? corpusText(CORPUS, fileRandom, true) : assistantText(fileRandom);
    return { id, user_id: userId, name, original_name: name, s3_key: `files/${userId}/${id}/${name}`, body: Buffer.from(text, 'utf8') };
  });
  await inPool(fairFiles, 16, async (f) => {
    await s3Client.send(new PutObjectCommand({ Bucket: bucket, Key: f.s3_key, Body: f.body, ContentType: 'text/plain' }));
  });
  for (let i = 0; i < fairFiles.length; i += 500) {
    const rows = fairFiles.slice(i, i + 500).map((f) => ({
      id: f.id, user_id: f.user_id, name: f.name, original_name: f.original_name, size: f.body.length,
      content_type: 'text/plain', s3_key: f.s3_key, status: 'uploaded', uploaded_at: new Date(),
    }));
    await db`insert into public.files ${db(rows)}`;
  }
  const fairFileIds = fairFiles.map((f) => f.id);
  const fileJobs = async () =>
    (await db<{ pending: number; running: number; done: number; last_done: Date | null }[]>`
      select count(*) filter (where status = 'pending')::int as pending, count(*) filter (where status = 'running')::int as running,
             count(*) filter (where status = 'done')::int as done, max(finished_at) as last_done
        from private.jobs where kind = 'process_file' and subject_id = any(${fairFileIds}::uuid[])`)[0]!;

  const steadyDeletes = async (label: string, conversations: CreatedConversation[]) => {
    const interval = 1000 / SIZES.fairRatePerSecond;
    const started = performance.now();
    let lateMs = 0;
    for (let i = 0; i < conversations.length; i++) {
      const wait = started + i * interval - performance.now();
      if (wait > 0) await sleep(wait);
      else lateMs = Math.max(lateMs, -wait);
      await db`delete from public.conversations where id = ${conversations[i]!.id}`;
    }
    const windowMs = performance.now() - started;
    const filesAtEnd = await fileJobs();
    await waitArchived(`fairness (${label})`, [conversations[0]!.userId], conversations.length, started);
    const rows = await db<{ ms: number; deleted_at: Date }[]>`
      select extract(epoch from archived_at - deleted_at)::float * 1000 as ms, deleted_at
        from public.archived_conversations where conversation_id = any(${conversations.map((c) => c.id)}::uuid[]) and status = 'stored'`;
    return { latencies: rows.map((r) => r.ms), rows, windowMs, lateMs, filesAtEnd };
  };
  const latencyStats = (values: number[]) => ({ p50: percentile(values, 50), p99: percentile(values, 99), max: Math.max(...values) });

  await waitIdle('before fairness pass A');
  progress(`8. fairness A: ${SIZES.fairDeletes} deletes at ${SIZES.fairRatePerSecond}/s, nothing else queued`);
  const stopFairWatchA = watchWorker('8. instances, pass A');
  const fairA = await steadyDeletes('A, nothing queued', fairPasses[0]!);
  stopFairWatchA();
  const fairStatsA = latencyStats(fairA.latencies);
  progress(`8. fairness A: delete → stored p50 ${fmt(fairStatsA.p50, 0)} / p99 ${fmt(fairStatsA.p99, 0)} / max ${fmt(fairStatsA.max, 0)} ms`);

  await waitIdle('before fairness pass B');
  const stopFairWatchB = watchWorker('8. instances, pass B');
  const filesQueuedAt = new Date();
  await db`with q as (select private.enqueue_job('process_file', f.id, f.user_id) from public.files f where f.id = any(${fairFileIds}::uuid[])) select count(*) from q`;
  await db`select private.wake_workers('archive-worker', 2)`;
  await waitFor('file processing to start', async () => {
    const jobs = await fileJobs();
    return jobs.running + jobs.done > 0;
  }, 50, 15_000);
  progress(`8. fairness B: ${SIZES.fairFiles} process_file jobs queued and running; the same deletes for another user`);
  const fairB = await steadyDeletes(`B, ${SIZES.fairFiles} file jobs queued`, fairPasses[1]!);
  const fairStatsB = latencyStats(fairB.latencies);
  progress(`8. fairness B: delete → stored p50 ${fmt(fairStatsB.p50, 0)} / p99 ${fmt(fairStatsB.p99, 0)} / max ${fmt(fairStatsB.max, 0)} ms; file jobs at the end of the deletes: ${fairB.filesAtEnd.pending} pending, ${fairB.filesAtEnd.running} running, ${fairB.filesAtEnd.done} done`);
  await waitFor('every file job to finish', async () => {
    const jobs = await fileJobs();
    return jobs.pending + jobs.running === 0;
  }, 500, Math.max(SIZES.stepTimeoutSeconds, 600) * 1000);
  const fairInstancesB = stopFairWatchB();
  const filesFinal = await fileJobs();
  const filesProcessed = (await db<{ n: number }[]>`select count(*)::int as n from public.files where id = any(${fairFileIds}::uuid[]) and status = 'processed'`)[0]!.n;
  const filesSeconds = filesFinal.last_done ? (filesFinal.last_done.getTime() - filesQueuedAt.getTime()) / 1000 : NaN;
  // The deletes made while file jobs were still waiting (the backlog lasted this long).
  const underBacklog = filesFinal.last_done ? fairB.rows.filter((r) => r.deleted_at.getTime() < filesFinal.last_done!.getTime()) : fairB.rows;
  const fairStatsBacklog = latencyStats(underBacklog.map((r) => r.ms));
  const fairRatio = fairStatsB.p99 / fairStatsA.p99;
  progress(`8. ${filesProcessed}/${SIZES.fairFiles} files processed in ${fmt(filesSeconds, 1)} s after queuing; ${underBacklog.length} of ${SIZES.fairDeletes} deletes were made while file jobs were left; p99 ratio ${fmt(fairRatio, 2)}`);
  const fairCheck = await verifyStrata([...fairPasses[0]!, ...fairPasses[1]!].map((c) => c.id), 10);

  // ======================================================= 6 and 9. peak memory, one huge conversation
  /** One conversation of SIZES.bigMessages messages (~200 B of content each) made with generate_series, deleted, its job parked an hour ahead. */
  const createBigAndDelete = async (label: string) => {
    const [user] = await createUsers(db, 1, label);
    const id = (await db<{ id: string }[]>`
      insert into public.conversations (user_id, title) values (${user!}, 'One very long conversation') returning id`)[0]!.id;
    await db`
      insert into public.messages (conversation_id, user_id, role, content, tokens, created_at)
      select ${id}::uuid, ${user!}::uuid, case when i % 2 = 1 then 'user' else 'assistant' end,
             left('Message ' || i || ': ' || repeat(md5(i::text) || ' ', 7), 200), 50,
             now() - interval '30 days' + make_interval(secs => i)
        from generate_series(1, ${SIZES.bigMessages}::int) i`;
    await waitIdle(`before the big conversation (${label})`);
    // Delete it and, in the same transaction, park the job an hour ahead so the
    // Deno worker (woken by this very delete) leaves it to the measured process.
    await db.begin(async (tx) => {
      await tx`delete from public.conversations where id = ${id}`;
      const parked = await tx`update private.jobs set run_after = now() + interval '1 hour'
                               where kind = 'archive_conversation' and subject_id = ${id} and status = 'pending'`;
      if (parked.count !== 1) throw new Error('the big conversation delete did not queue a job');
    });
    return id;
  };
  /** Its index row, and the object's sha256: index = object metadata = re-hash of the gunzipped download. Keeps the first `keep` bytes of JSON. */
  const verifyBig = async (id: string, keep = 0) => {
    const [row] = await db<{ status: string; sha256: string | null; s3_key: string | null; bytes: string | null; message_count: number | null }[]>`
      select status, sha256, s3_key, bytes, message_count from public.archived_conversations where conversation_id = ${id}`;
    let shaMatches = false;
    let jsonBytes = 0;
    const kept: Buffer[] = [];
    let keptBytes = 0;
    if (row?.status === 'stored' && row.s3_key) {
      const head = await s3Client.send(new HeadObjectCommand({ Bucket: bucket, Key: row.s3_key }));
      const object = await s3Client.send(new GetObjectCommand({ Bucket: bucket, Key: row.s3_key }));
      const hash = createHash('sha256');
      await pipeline(object.Body as Readable, createGunzip(), async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          hash.update(chunk);
          jsonBytes += chunk.length;
          if (keptBytes < keep) {
            kept.push(chunk);
            keptBytes += chunk.length;
          }
        }
      });
      shaMatches = hash.digest('hex') === row.sha256 && head.Metadata?.sha256 === row.sha256;
    }
    return { row, shaMatches, jsonBytes, kept: Buffer.concat(kept).subarray(0, keep) };
  };

  notePhaseLoad('6');
  progress(`6. one conversation of ${SIZES.bigMessages} messages (~200 B each) with generate_series`);
  const bigId = await createBigAndDelete('bench-big');
  progress('6. archiving it in a separate Node process running drainJobs, no CPU limit (measuring its peak RSS)');
  const child = await runNodeChild<BigChildReport>('one-conversation-worker.ts', [bigId], '6');
  const big = await verifyBig(bigId);
  const bigRow = big.row;
  const bigShaMatches = big.shaMatches;
  const bigJsonBytes = big.jsonBytes;
  progress(`6. peak RSS ${fmt(child.vmHwmMb ?? NaN)} MB, ${fmt(child.elapsedMs / 1000, 1)} s, status ${bigRow?.status}, sha256 ${bigShaMatches ? 'matches' : 'DOES NOT match'}`);

  notePhaseLoad('9');
  progress(`9. another conversation of ${SIZES.bigMessages} messages, archived with limits { cpuMs: ${SIZES.bigCpuBudgetMs} } per invocation, one fresh process per invocation`);
  const budgetId = await createBigAndDelete('bench-big-budget');
  const budgetRuns: BigChildReport[] = [];
  // Held: a budget-stopped invocation wakes the next through pg_net, and
  // that wake-up must not reach the Deno worker before the job is re-parked.
  const releaseBudgetWakeUps = await holdWakeUps();
  const budgetStarted = performance.now();
  try {
    for (let i = 0; i < 200; i++) {
      const run = await runNodeChild<BigChildReport>('one-conversation-worker.ts', [budgetId, String(SIZES.bigCpuBudgetMs)], `9.${i + 1}`);
      budgetRuns.push(run);
      if (run.job?.status !== 'pending') break;
    }
  } finally {
    await releaseBudgetWakeUps();
  }
  const budgetElapsedMs = performance.now() - budgetStarted;
  const budgetDrainMs = budgetRuns.reduce((a, r) => a + r.elapsedMs, 0);
  const budgetPeak = Math.max(...budgetRuns.map((r) => r.vmHwmMb ?? NaN));
  const budgetDrainPeak = Math.max(...budgetRuns.map((r) => r.drainHwmMb ?? NaN));
  const budgetDrainGrowth = Math.max(...budgetRuns.map((r) => (r.drainHwmMb ?? NaN) - (r.rssBeforeMb ?? NaN)));
  const budgetCpu = budgetRuns.map((r) => r.cpuMs);
  const budgetClaimed = budgetRuns.filter((r) => r.summary?.by_kind?.archive_conversation?.claimed === 1).length;
  const budgetDone = budgetRuns.some((r) => r.summary?.by_kind?.archive_conversation?.done === 1);
  const budgetParts = budgetRuns.map((r) => r.job?.parts ?? 0);
  const budgetBig = await verifyBig(budgetId, SIZES.gzipMiB * 1024 * 1024);
  progress(`9. ${budgetRuns.length} invocations, peak VmHWM ${fmt(budgetPeak)} MB (drain alone ${fmt(budgetDrainPeak)} MB), CPU per invocation ${budgetCpu.map((c) => fmt(c, 0)).join(', ')} ms, ${fmt(budgetElapsedMs / 1000, 1)} s, status ${budgetBig.row?.status}, sha256 ${budgetBig.shaMatches ? 'matches' : 'DOES NOT match'}`);

  // ======================================================= 9e. the same, by the Edge Runtime's instances
  // The stack's own archive-worker under the hosted limits: the job is made
  // due and one wake-up sent; the instances go as far as their budget
  // allows, wake the next and retire. Watched: every instance's peak (VmHWM,
  // and heap + external, what the 256 MB limit counts) and main-thread CPU;
  // each drain's own CPU from its summary line.
  notePhaseLoad('9e');
  progress(`9e. another conversation of ${SIZES.bigMessages} messages, archived by the stack's archive-worker instances (hosted limits)`);
  const edgeBigId = await createBigAndDelete('bench-big-edge');
  const stopEdgeWatch = watchWorker('9e. instances');
  const edgeDrainsFrom = drainLines.length;
  const edgeStarted = performance.now();
  await db`update private.jobs set run_after = now() where kind = 'archive_conversation' and subject_id = ${edgeBigId} and status = 'pending'`;
  await db`select private.wake_workers('archive-worker')`;
  await waitFor('the big conversation to be archived by the instances', async () => {
    const [row] = await db<{ status: string }[]>`select status from public.archived_conversations where conversation_id = ${edgeBigId}`;
    return row?.status === 'stored';
  }, 250);
  const edgeElapsedMs = performance.now() - edgeStarted;
  await sleep(1500); // the last drain ends, its instance idles
  const edgeInstances = stopEdgeWatch();
  const edgeDrains = drainLines.slice(edgeDrainsFrom).filter((d) => (d.by_kind?.archive_conversation?.claimed ?? 0) > 0);
  const edgeDrainCpu = edgeDrains.map((d) => d.cpu_ms);
  const [edgeJob] = await db<{ attempts: number; parts: number }[]>`
    select attempts, coalesce(jsonb_array_length(payload #> '{multipart,parts}'), 0)::int as parts
      from private.jobs where kind = 'archive_conversation' and subject_id = ${edgeBigId}`;
  const edgeBig = await verifyBig(edgeBigId);
  const edgeHeapMaxMb = Math.max(0, ...edgeInstances.instances.map((i) => i.peakHeapBytes)) / 1048576;
  const edgeInstanceCpu = edgeInstances.instances.map((i) => i.cpuMs);
  progress(`9e. ${edgeDrains.length} drains in ${edgeInstances.instances.length} instances, ${fmt(edgeElapsedMs / 1000, 1)} s; drain CPU ${edgeDrainCpu.join(', ')} ms; heap + external max ${fmt(edgeHeapMaxMb)} MB; status ${edgeBig.row?.status}, sha256 ${edgeBig.shaMatches ? 'matches' : 'DOES NOT match'}`);

  // ======================================================= 10. gzip levels
  // On the benchmark's own text, with the stack idle: the buffered path on
  // the 10-message documents of run 1, the streamed path on the same
  // messages joined into one long JSON, and on the start of run 9's JSON.
  notePhaseLoad('10');
  progress(`10. gzip levels 1, 6, 9: buffered (${gzipDocuments.length} documents) and streamed (${SIZES.gzipMiB} MiB of each text)`);
  const realisticStream = (() => {
    const batches: Buffer[] = [];
    let total = 0;
    let batch: Buffer[] = [];
    for (const document of gzipDocuments) {
      const text = document.toString('utf8');
      const start = text.indexOf('"messages":[') + '"messages":['.length;
      const end = text.lastIndexOf('],"archive_metadata"');
      batch.push(Buffer.from((total === 0 && batch.length === 0 ? '' : ',') + text.slice(start, end), 'utf8'));
      // About BATCH (1,000) messages per write, as buildPart reads them.
      if (batch.length * SIZES.messages >= 1000) {
        const joined = Buffer.concat(batch);
        batches.push(joined);
        total += joined.length;
        batch = [];
        if (total >= SIZES.gzipMiB * 1024 * 1024) break;
      }
    }
    if (batch.length) batches.push(Buffer.concat(batch));
    return batches;
  })();
  const bigStream = (() => {
    // Its messages are ~500 B of JSON each: 1,000 messages per write is ~500 KB.
    const batches: Buffer[] = [];
    for (let at = 0; at < budgetBig.kept.length; at += 500 * 1024) batches.push(budgetBig.kept.subarray(at, at + 500 * 1024));
    return batches;
  })();
  gzipTables.push(
    { path: 'buffered (gzipSync per conversation, archive/upload.ts: level 6 today)', text: `run 1's ${gzipDocuments.length} documents of ${SIZES.messages} messages (real prose)`, results: await measureLevels(gzipDocuments, gzipBuffered) },
    { path: 'streamed parts (createGzip + Z_SYNC_FLUSH per 1,000 messages, archive/multipart.ts: level 1 today)', text: 'the same messages joined as one long conversation (real prose)', results: await measureLevels(realisticStream, gzipStreamed) },
    { path: 'streamed parts (as above)', text: `the first ${fmt(budgetBig.kept.length / 1024 / 1024, 0)} MiB of run 9's JSON (generated, md5-hex text)`, results: bigStream.length ? await measureLevels(bigStream, gzipStreamed) : [] },
  );
  for (const t of gzipTables) progress(`10. ${t.path} · ${t.text}: ${t.results.map((r) => `level ${r.level}: ${fmt(r.ratio, 4)}, ${fmt(r.cpuMsPerMiB, 1)} ms CPU/MiB`).join('; ')}`);

  // ======================================================= the table
  const checks = [throughputCheck, latencyCheck, bulkCheck, cpuCheck, fairCheck];
  const strataLost = checks.reduce((a, c) => a + c.lost, 0);
  const strataChecked = throughputIds.length + latencyConversations.length + bulkIds.length + cpuWarm.ids.length + cpuMeasured.ids.length + cpuProfiled.ids.length + 2 * SIZES.fairDeletes;
  const deepChecked = checks.reduce((a, c) => a + c.deepChecked, 0);
  const deepBad = checks.reduce((a, c) => a + c.deepBad, 0);
  const rawRatio = strataRate / rawRate;
  const baselineRatio = strataRate / baselineRate;
  const p50 = percentile(liveLatency.transaction, 50);
  const p99 = percentile(liveLatency.transaction, 99);
  const ip50 = percentile(idleLatency.transaction, 50);
  const ip99 = percentile(idleLatency.transaction, 99);
  const bp50 = percentile(baselineLatencies, 50);
  const bp99 = percentile(baselineLatencies, 99);
  const bytesRatio = strataBytesAvg / rawJsonAvg;
  const peak = child.vmHwmMb ?? NaN;

  rows.push(
    {
      metric: `1. Archive throughput, ${SIZES.conversations} conversations (conversations/s)`,
      strata: `${fmt(strataRate)} (${fmt(strataMs / 1000, 2)} s from DELETE to all stored, in 2 halves)`,
      reference: `raw PutObject: ${fmt(rawRate)} (${fmt(rawMs / 1000, 2)} s, ${SIZES.rawConcurrency} at once)` + (rawWide ? `; ${fmt(rawWide.rate)} at ${nominalConcurrency} at once` : ''),
      target: '≥ 0.8 × raw',
      met: `${yes(rawRatio >= 0.8)} (${fmt(rawRatio, 2)} ×` + (rawWide ? `; ${fmt(strataRate / rawWide.rate, 2)} × vs ${nominalConcurrency} at once)` : ')'),
    },
    {
      metric: '2. Throughput vs the baseline (conversations/s)',
      strata: fmt(strataRate),
      reference: `baseline: ${fmt(baselineRate)} (${SIZES.baselineConcurrency} concurrent deletes)`,
      target: '≥ 5 × baseline',
      met: `${yes(baselineRatio >= 5)} (${fmt(baselineRatio, 1)} ×)`,
    },
    {
      metric: '2. Index entries lost',
      strata: `${strataLost} of ${strataChecked} (HeadObject sha256 = index sha256; ${deepChecked - deepBad}/${deepChecked} downloaded and re-hashed)`,
      reference: `baseline: ${baselineLost} of ${SIZES.baselineConversations} concurrent (${fmt((100 * baselineLost) / SIZES.baselineConversations)} %); ${baselineSequentialLost} of ${SIZES.latencyDeletes} sequential`,
      target: '0 (Strata)',
      met: yes(strataLost === 0 && deepBad === 0),
    },
    {
      metric: `3. Caller's delete latency p50 / p99, worker archiving on the same cores (${SIZES.latencyDeletes} sequential)`,
      strata: `${fmt(p50, 2)} / ${fmt(p99, 2)} ms (the DELETE statement alone: ${fmt(percentile(liveLatency.statement, 50), 2)} / ${fmt(percentile(liveLatency.statement, 99), 2)} ms)`,
      reference: `baseline: ${fmt(bp50, 1)} / ${fmt(bp99, 1)} ms sequential; ${fmt(percentile(baselineConcurrentLatencies, 50), 1)} / ${fmt(percentile(baselineConcurrentLatencies, 99), 1)} ms at ${SIZES.baselineConcurrency} concurrent`,
      target: 'p99 < 10 ms',
      met: yes(p99 < 10),
    },
    {
      metric: `3. Caller's delete latency p50 / p99, worker idle (wake-ups held) (${SIZES.latencyDeletes} sequential)`,
      strata: `${fmt(ip50, 2)} / ${fmt(ip99, 2)} ms (the DELETE statement alone: ${fmt(percentile(idleLatency.statement, 50), 2)} / ${fmt(percentile(idleLatency.statement, 99), 2)} ms)`,
      reference: `baseline (sequential, above): ${fmt(bp50, 1)} / ${fmt(bp99, 1)} ms`,
      target: 'p99 < 10 ms',
      met: yes(ip99 < 10),
    },
    {
      metric: `4. HTTP calls per bulk delete of ${fmtInt(bulkTotal)} conversations`,
      strata: `${bulkCalls} (${bulkRequests} pg_net requests, ${bulkResponses} responses; 0 direct; archived in ${fmt(bulkMs / 1000, 1)} s)`,
      reference: `per-row wake-up: ${fmtInt(bulkTotal)}; baseline: 3 S3 calls per delete = ${fmtInt(3 * bulkTotal)}`,
      target: `≤ 1 + ${fmtInt(bulkTotal)} / 50 = ${bulkTarget}`,
      met: yes(bulkCalls <= bulkTarget),
    },
    {
      metric: `4b. HTTP calls for ${SIZES.latencyDeletes} single-row deletes (run 3a)`,
      strata: `${singleDeleteWakeups} pg_net wake-ups (one per DELETE statement, incl. sweeps)`,
      reference: `baseline: ${fmtInt(3 * SIZES.latencyDeletes)} S3 calls in the request path`,
      target: '—',
      met: '—',
    },
    {
      metric: '5. Bytes stored per conversation',
      strata: `${fmtInt(strataBytesAvg)} B (gzip)`,
      reference: `raw JSON: ${fmtInt(rawJsonAvg)} B (Node gzip of the same document: ${fmtInt(rawGzAvg)} B; gzip -9: ${fmtInt(rawGz9Avg)} B = ${fmt(rawGz9Avg / rawJsonAvg, 4)})`,
      target: '≤ 1/3 of raw JSON',
      met: `${yes(bytesRatio <= 1 / 3)} (${fmt(bytesRatio, 4)})`,
    },
    {
      metric: `6. Peak worker memory, 1 conversation of ${fmtInt(SIZES.bigMessages)} messages`,
      strata: `${fmt(peak)} MB VmHWM (Node + tsx, drainJobs)`,
      reference: `its JSON is ${fmt(bigJsonBytes / 1024 / 1024)} MB (what a buffer-it-all archiver holds at least once)`,
      target: '< 256 MB',
      met: yes(peak < 256 && child.summary?.by_kind?.archive_conversation?.done === 1),
    },
    {
      metric: '6. Its archive: elapsed, sha256',
      strata: `${fmt(child.elapsedMs / 1000, 1)} s, ${bigRow?.status ?? 'no row'}, ${fmtInt(Number(bigRow?.bytes ?? NaN))} B gzip, sha256 ${bigShaMatches ? 'matches (index = object metadata = re-hash of download)' : 'MISMATCH'}`,
      reference: '—',
      target: 'stored, sha256 matches',
      met: yes(bigRow?.status === 'stored' && bigShaMatches && bigRow.message_count === SIZES.bigMessages),
    },
    {
      metric: `7. Worker CPU per archived conversation (${SIZES.messages} messages, ${fmtInt(rawJsonAvg)} B of JSON on average)`,
      strata: `${fmt(cpuPerConversation, 2)} ms (${fmt(sumOf(cpuChild.measured, 'userMs') / Math.max(1, cpuDone), 2)} user + ${fmt(sumOf(cpuChild.measured, 'systemMs') / Math.max(1, cpuDone), 2)} system): ${fmt(cpuTotalMs, 0)} ms for ${fmtInt(cpuDone)} conversations in ${cpuChild.measured.length} invocation(s) of drainJobs in a Node worker process (process.cpuUsage(), what the budget counts); ${fmt(cpuPerFullInvocation, 0)} conversations per invocation that spent its ${fmtInt(Number(process.env.WORKER_CPU_BUDGET_MS ?? 600))} ms; an invocation with nothing due: ${fmt(cpuIdleInvocation, 1)} ms`,
      reference: `the Edge Runtime's archive-worker instances (one Deno process each, hosted limits), main-thread CPU (what the hosted limit counts; incl. serving wake-ups and ?wait calls): run 1 ${fmt(denoCpuPerConversation, 2)} ms per conversation (whole processes ${fmt(denoProcessCpuMs / SIZES.conversations, 2)}); run 4 (bulk, ${SIZES.bulkMessages} messages each) ${fmt(bulkInstances.cpuMs / bulkTotal, 2)} ms (whole processes ${fmt(bulkInstances.processCpuMs / bulkTotal, 2)})`,
      target: '≤ 1 ms (≥ 1,000 per instance before the 1 s soft limit)',
      met: `${yes(cpuPerConversation <= 1)} (≈ ${fmtInt(1000 / cpuPerConversation)} per 1 s of CPU)`,
    },
    {
      metric: `8. Fairness: one user's archive latency, delete → stored, p50 / p99 / max (${SIZES.fairDeletes} deletes one at a time, ${SIZES.fairRatePerSecond}/s)`,
      strata: `with ${fmtInt(SIZES.fairFiles)} process_file jobs queued: ${fmt(fairStatsB.p50, 0)} / ${fmt(fairStatsB.p99, 0)} / ${fmt(fairStatsB.max, 0)} ms (the ${underBacklog.length} deletes made while file jobs were still waiting: ${fmt(fairStatsBacklog.p50, 0)} / ${fmt(fairStatsBacklog.p99, 0)} / ${fmt(fairStatsBacklog.max, 0)} ms)`,
      reference: `nothing else queued: ${fmt(fairStatsA.p50, 0)} / ${fmt(fairStatsA.p99, 0)} / ${fmt(fairStatsA.max, 0)} ms`,
      target: 'p99 ≤ 2 × nothing queued',
      met: `${yes(fairRatio <= 2)} (${fmt(fairRatio, 2)} ×)`,
    },
    {
      metric: `9. Peak worker memory, 1 conversation of ${fmtInt(SIZES.bigMessages)} messages, limits { cpuMs: ${SIZES.bigCpuBudgetMs} } per invocation`,
      strata: `${fmt(budgetPeak)} MB VmHWM, the highest of ${budgetRuns.length} invocations (a fresh Node + tsx process each: ${fmt(percentile(budgetRuns.map((r) => r.rssBeforeMb ?? NaN), 50), 0)} MB RSS before its drain; the drain's own peak, VmHWM reset before it: ${fmt(budgetDrainPeak)} MB, ${fmt(budgetDrainGrowth, 0)} MB above the RSS before it)`,
      reference: `in one go without a CPU limit (row 6): ${fmt(peak)} MB (the drain's own peak ${fmt(child.drainHwmMb ?? NaN)} MB, ${fmt((child.drainHwmMb ?? NaN) - (child.rssBeforeMb ?? NaN), 0)} MB above the RSS before it)`,
      target: '< 128 MB',
      met: yes(budgetPeak < 128 && budgetDone),
    },
    {
      metric: '9. Its archive: invocations, elapsed, CPU per invocation, sha256',
      strata: `${budgetRuns.length} invocations (${budgetClaimed} claimed it), ${budgetParts[budgetParts.length - 1] ?? 0} parts; ${fmt(budgetElapsedMs / 1000, 1)} s in all (${fmt(budgetDrainMs / 1000, 1)} s in the drains, the rest process start-ups); CPU per invocation p50 ${fmt(percentile(budgetCpu, 50), 0)}, max ${fmt(Math.max(...budgetCpu), 0)} ms; ${budgetBig.row?.status ?? 'no row'}, ${fmtInt(Number(budgetBig.row?.bytes ?? NaN))} B gzip, sha256 ${budgetBig.shaMatches ? 'matches (index = object metadata = re-hash of download)' : 'MISMATCH'}`,
      reference: `row 6: 1 invocation, ${fmt(child.elapsedMs / 1000, 1)} s, ${fmt(child.cpuMs, 0)} ms CPU`,
      target: 'stored, sha256 matches',
      met: yes(budgetBig.row?.status === 'stored' && budgetBig.shaMatches && budgetBig.row.message_count === SIZES.bigMessages),
    },
    {
      metric: `9e. Peak memory per instance, 1 conversation of ${fmtInt(SIZES.bigMessages)} messages archived by the Edge Runtime's archive-worker instances (hosted limits)`,
      strata: `heap + external (what the 256 MB limit counts) max ${fmt(edgeHeapMaxMb)} MB; VmHWM per instance max ${fmt(peakHwmKb(edgeInstances) / 1024)} MiB (the Deno process, its code included), over ${edgeInstances.instances.length} instance(s)`,
      reference: `row 9 (Node + tsx processes, the budget's limits): ${fmt(budgetPeak)} MB VmHWM`,
      target: '≤ 256 MB with room: heap + external below the retire line (128 MB), none killed',
      met: yes(edgeHeapMaxMb < 128 && killedCount(edgeInstances) === 0),
    },
    {
      metric: '9e. Its archive: invocations, CPU per invocation and per instance, instances, sha256',
      strata: `${edgeDrains.length} drain(s) worked on it (job attempts ${edgeJob?.attempts ?? '?'}), ${edgeJob?.parts ?? '?'} parts; ${fmt(edgeElapsedMs / 1000, 1)} s from the wake-up to stored; CPU per invocation (the drain's own count, process CPU as the budget counts it) p50 ${fmt(percentile(edgeDrainCpu, 50), 0)}, max ${fmt(Math.max(...edgeDrainCpu), 0)} ms; main-thread CPU per instance p50 ${fmt(percentile(edgeInstanceCpu, 50), 0)}, max ${fmt(Math.max(...edgeInstanceCpu), 0)} ms; ${describeLifecycle(edgeInstances)}; ${edgeBig.row?.status ?? 'no row'}, ${fmtInt(Number(edgeBig.row?.bytes ?? NaN))} B gzip, sha256 ${edgeBig.shaMatches ? 'matches (index = object metadata = re-hash of download)' : 'MISMATCH'}`,
      reference: `row 9: CPU per invocation p50 ${fmt(percentile(budgetCpu, 50), 0)}, max ${fmt(Math.max(...budgetCpu), 0)} ms (Node)`,
      target: 'CPU per invocation and per instance < 2,000 ms (hard limit), per invocation < 1,000 ms (soft); none killed, no 546; stored, sha256 matches',
      met: yes(
        Math.max(...edgeDrainCpu) < 1000 && Math.max(...edgeInstanceCpu) < 2000 && killedCount(edgeInstances) === 0 && edgeInstances.status546 === 0 &&
          edgeBig.row?.status === 'stored' && edgeBig.shaMatches && edgeBig.row.message_count === SIZES.bigMessages,
      ),
    },
    {
      metric: 'Edge Runtime instances over the runs that used them (1, 4, 8, 9e): killed at a hard limit, 546 answers',
      strata: instanceReports.map(([label, r]) => `run ${label.replace(/\. instances,?/, '')}: ${r.instances.length} instance(s), retired ${['cpu', 'memory', 'wall_clock'].map((l) => `${l} ${r.retiredBy[l as 'cpu']}`).join(' · ')}, killed ${killedCount(r)}, 546: ${r.status546}, VmHWM max ${fmt(peakHwmKb(r) / 1024, 0)} MiB, main-thread CPU max ${fmtInt(Math.max(0, ...r.instances.map((i) => i.cpuMs)))} ms`).join('; '),
      reference: 'hosted limits: CPU soft 1 s (retire) / hard 2 s (kill), 256 MB, wall clock 150 s, beforeunload at 90 %',
      target: '0 killed, 0 × 546',
      met: yes(instanceReports.every(([, r]) => unhealthy(r) === null)),
    },
    {
      metric: '10. gzip level 1 / 6 / 9: output ÷ input, CPU ms per MiB of JSON',
      strata: gzipTables.map((t, i) => `${['buffered', 'streamed, prose', 'streamed, run 9 text'][i]}: ${t.results.map((r) => `${fmt(r.ratio, 3)} · ${fmt(r.cpuMsPerMiB, 1)}`).join(' / ')}`).join('; '),
      reference: gzipTables.map((t, i) => {
        const l6 = t.results.find((r) => r.level === 6);
        const l9 = t.results.find((r) => r.level === 9);
        return l6 && l9 ? `${['buffered', 'streamed, prose', 'streamed, run 9 text'][i]}: level 9 vs 6 ${signed(100 * (l9.cpuMsPerMiB / l6.cpuMsPerMiB - 1))} % CPU, ${signed(100 * (l9.outputBytes / l6.outputBytes - 1), 2)} % bytes` : '';
      }).filter(Boolean).join('; '),
      target: '— (see the gzip table)',
      met: '—',
    },
  );
  if (checks.some((c) => c.reasons)) {
    notes.push(`Strata losses: ${checks.map((c) => c.reasons).filter(Boolean).join('; ')}`);
  }
  // A healthy run loses nothing and never reaches a hard limit.
  const problems = [
    ...(strataLost > 0 || deepBad > 0 ? [`${strataLost} archive(s) lost, ${deepBad} download(s) with a wrong sha256`] : []),
    ...(bigRow?.status === 'stored' && bigShaMatches && budgetBig.row?.status === 'stored' && budgetBig.shaMatches && edgeBig.row?.status === 'stored' && edgeBig.shaMatches
      ? []
      : ['a big conversation was not stored with a matching sha256']),
    ...instanceReports.map(([label, r]) => unhealthy(r) && `${label}: ${unhealthy(r)}`).filter((p): p is string => Boolean(p)),
  ];
  if (problems.length) {
    notes.unshift(`**FAILED: ${problems.join('; ')}.**`);
    progress(`FAILED: ${problems.join('; ')}`);
    process.exitCode = 1;
  }
  if (baselineErrors > 0) notes.push(`${baselineErrors} baseline deletes failed.`);
  notes.push(
    `s3rver rewrites an object's file in place, so a GET overlapping a PUT of the same metadata.json can read half a file and overlapping PUTs can tear it (real S3 returns whole objects); ` +
      `the baseline read ${s3rverRepairs.tornReads} torn index file(s) as their leading complete document (S3's last-writer-wins) and re-read ${s3rverRepairs.rereads} half-written one(s).`,
  );
  if (child.summary?.by_kind?.archive_conversation?.done !== 1) notes.push(`The measured process did not archive the big conversation itself: ${JSON.stringify(child.summary)}`);
  notes.push(
    `Run 4 (bulk): the first archive completed ${fmt(bulkTiming.first, 2)} s after the DELETE started; the longest pause between two completions was ${fmt(bulkTiming.gap, 1)} s; ` +
      `${bulkTiming.drains} worker invocation(s) did the work (a wake-up that finds the instance's background drains busy is answered "already draining"; a drain stops after ARCHIVE_BUDGET_SECONDS and a later sweep starts another).`,
  );
  notes.push(
    `Worker invocations in run 1 (pg_net wake-up drains in the background; these are the ?wait=true ones): ` +
      manualSummaries.map((s) => `claimed ${(s as { claimed?: number }).claimed ?? '?'}`).join(', ') + '.',
  );
  // Run 7: where the CPU goes.
  if (cpuChild.profile) {
    const p = cpuChild.profile;
    const profiledCpu = sumOf(cpuChild.profiled, 'cpuMs');
    notes.push(
      `Run 7, where the worker's CPU goes: the V8 sampling profiler (node:inspector, the sampler behind \`node --cpu-prof\`, every 200 µs) over the drains of ${fmtInt(sumOf(cpuChild.profiled, 'done'))} more conversations ` +
        `(${fmt(cpuProfiledPerConversation, 2)} ms CPU per conversation with it on, ${fmt(profiledCpu, 0)} ms in all; the main thread was sampled not idle for ${fmt(p.busyMs, 0)} ms: wall time between samples, which on this loaded machine includes waiting for a core, so the shares below are of that). ` +
        `Charged to the library that caused it (each sample to the nearest frame on its stack outside Node's internals and native builtins): ${p.callers.slice(0, 8).map((g) => `${g.name} ${fmt(100 * g.share, 0)} %`).join(', ')}. ` +
        `Self time by where the code lives: ${p.groups.slice(0, 9).map((g) => `${g.name} ${fmt(100 * g.share, 0)} %`).join(', ')}. ` +
        `Top functions by self time: ${p.functions.slice(0, 10).map((f) => `${f.name} (${f.where}) ${fmt(100 * f.share, 1)} %`).join(', ')}.`,
    );
  }
  notes.push(
    `Run 7 invocations (measured): ${cpuChild.measured.map((i) => `${i.done} in ${fmt(i.cpuMs, 0)} ms (${i.stoppedBy})`).join(', ')}; ` +
      `warm-up before them: ${fmtInt(sumOf(cpuChild.warmup, 'done'))} conversations at ${fmt(sumOf(cpuChild.warmup, 'cpuMs') / Math.max(1, sumOf(cpuChild.warmup, 'done')), 2)} ms each. ` +
      `The Edge Runtime cross-check (every archive-worker instance of the run, main thread) includes the HTTP wake-ups, the ${SIZES.workers} ?wait=true calls and the sweeps, and ARCHIVE_CONCURRENCY × the drains running at once. ` +
      `Instances in run 1: ${throughputInstances.map((r) => describeLifecycle(r)).join(' | ')}; run 4: ${describeLifecycle(bulkInstances)}; ${describeUsage(bulkInstances)}.`,
  );
  notes.push(
    `Run 8: deletes as the service connection (one statement each, pg_net wake-up per statement), scheduled every ${fmt(1000 / SIZES.fairRatePerSecond, 0)} ms (at most ${fmt(Math.max(fairA.lateMs, fairB.lateMs), 0)} ms behind schedule); ` +
      `latency = archived_conversations.archived_at − deleted_at (the completing and the deleting transaction's times). ` +
      `File jobs: ${SIZES.fairFiles} text files of ${fmtInt(fairFiles.reduce((a, f) => a + f.body.length, 0) / Math.max(1, fairFiles.length))} B on average over ${fileUsers.length} other users; ` +
      `at the end of pass B's deletes ${fairB.filesAtEnd.pending} were pending, ${fairB.filesAtEnd.running} running, ${fairB.filesAtEnd.done} done; all ${filesProcessed} processed ${fmt(filesSeconds, 1)} s after they were queued (${fmt(SIZES.fairFiles / filesSeconds, 0)} files/s), ` +
      `so ${underBacklog.length} of the ${SIZES.fairDeletes} deletes of pass B met a backlog. Pass B's instances: ${describeLifecycle(fairInstancesB)}; ${describeUsage(fairInstancesB)}.`,
  );
  notes.push(
    `Run 9 invocations (one Node process each, limits { cpuMs: ${SIZES.bigCpuBudgetMs} }): CPU ${budgetCpu.map((c) => fmt(c, 0)).join(', ')} ms; ` +
      `parts after each ${budgetParts.join(', ')}; VmHWM ${budgetRuns.map((r) => fmt(r.vmHwmMb ?? NaN, 0)).join(', ')} MB (start-up alone ${fmt(Math.max(...budgetRuns.map((r) => r.startupHwmMb ?? NaN)), 0)} MB, RSS before the drain ${fmt(percentile(budgetRuns.map((r) => r.rssBeforeMb ?? NaN), 50), 0)} MB); ` +
      `drain wall ${budgetRuns.map((r) => fmt(r.elapsedMs / 1000, 1)).join(', ')} s; the budget's own peak of heap + external memory ${budgetRuns.map((r) => fmtInt(r.summary?.peak_memory_mb ?? NaN)).join(', ')} MB (WORKER_MEMORY_BUDGET_MB 96 stops claiming above it); ` +
      `process.memoryUsage() sampled every 50 ms during each drain, peaks: ${budgetRuns.map((r) => (r.peaksMb ? `RSS ${fmt(r.peaksMb.rss, 0)}, V8 heap total ${fmt(r.peaksMb.heapTotal, 0)} (used ${fmt(r.peaksMb.heapUsed, 0)}), external ${fmt(r.peaksMb.external, 0)} (array buffers ${fmt(r.peaksMb.arrayBuffers, 0)}) MB` : 'n/a')).join('; ')}` +
      (child.peaksMb ? ` (row 6, in one go: RSS ${fmt(child.peaksMb.rss, 0)}, V8 heap total ${fmt(child.peaksMb.heapTotal, 0)} (used ${fmt(child.peaksMb.heapUsed, 0)}), external ${fmt(child.peaksMb.external, 0)} (array buffers ${fmt(child.peaksMb.arrayBuffers, 0)}) MB)` : '') +
      `. The budget is checked before each part (PART_CPU_MS 300), so an invocation always uploads at least one part whatever it costs.` +
      (Math.max(...budgetCpu) > 1000 ? ` ${budgetCpu.filter((c) => c > 1000).length} invocation(s) used more than the hosted 1 s soft CPU limit${Math.max(...budgetCpu) > 2000 ? `, ${budgetCpu.filter((c) => c > 2000).length} more than the 2 s hard limit (an instance would be stopped mid-part)` : ''}.` : ''),
  );
  notes.push(
    `Run 9e (the Edge Runtime's instances, hosted limits): drains that worked on the job, CPU ${edgeDrains.map((d) => `${d.cpu_ms} ms (${d.stopped_by})`).join(', ')}; ` +
      `instances: ${edgeInstances.instances.map((i) => `#${i.id} main-thread ${fmtInt(i.cpuMs)} ms, heap + external peak ${fmt(i.peakHeapBytes / 1048576, 0)} MB, VmHWM ${fmt(i.hwmKb / 1024, 0)} MiB, ${i.info.retiredBy ? `retired by ${i.info.retiredBy}` : 'not retired'}${i.info.exit ? `, ended ${i.info.exit.reason}` : ''}${i.info.beforeunload.length ? `, beforeunload ${i.info.beforeunload.join('/')}` : ''}`).join('; ')}.`,
  );
  notes.push(
    `Load (1 / 5 / 15-minute, /proc/loadavg) at the start of each run: ${phaseLoads.map(([phase, l]) => `${phase}: ${l.map((v) => fmt(v, 2)).join(' / ')}`).join('; ')}.`,
  );
} catch (error) {
  bench.fail('benchmark failed', error);
} finally {
  await bench.shutdown();
}

interface BigChildReport {
  summary?: { claimed?: number; stopped_by?: string; cpu_ms?: number; peak_memory_mb?: number; by_kind?: Record<string, { claimed: number; done: number; released: number }> };
  elapsedMs: number;
  cpuMs: number;
  vmHwmMb: number | null;
  startupHwmMb: number | null;
  drainHwmMb: number | null;
  rssBeforeMb: number | null;
  peaksMb?: { rss: number; heapTotal: number; heapUsed: number; external: number; arrayBuffers: number };
  job: { status: string; parts: number | null; written: number | null } | null;
}
interface CpuInvocation {
  cpuMs: number;
  userMs: number;
  systemMs: number;
  wallMs: number;
  done: number;
  claimed: number;
  stoppedBy: string;
  budgetCpuMs: number;
}
interface CpuChildReport {
  warmup: CpuInvocation[];
  idle: CpuInvocation[];
  measured: CpuInvocation[];
  profiled: CpuInvocation[];
  profile: ProfileSummary | null;
}

/**
 * Runs one of this folder's worker scripts in its own Node process (with the
 * stack's S3 and database settings, as the functions get them) and returns
 * the JSON line it prints last. Its peak RSS is also sampled from outside,
 * in case it dies before reporting.
 */
async function runNodeChild<T extends object>(script: string, args: string[], label: string): Promise<T & { outsideHwmMb: number | null }> {
  const info = bench.info;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(BENCH_DIR, script), ...args], {
      cwd: PROJECT_ROOT,
      // The child runs the functions' code with the environment a function sees on this stack.
      env: { ...process.env, ...functionsEnvOf(info) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let outsideHwmKb = 0;
    const sampler = setInterval(() => {
      try {
        const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) outsideHwmKb = Math.max(outsideHwmKb, Number(m[1]));
      } catch {
        // exited
      }
    }, 100);
    const timer = setTimeout(() => child.kill('SIGKILL'), SIZES.stepTimeoutSeconds * 1000);
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
      if (stderr.length > 20_000) stderr = stderr.slice(-20_000);
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearInterval(sampler);
      clearTimeout(timer);
      const line = stdout.trim().split('\n').pop() ?? '';
      try {
        const parsed = JSON.parse(line) as T & { outsideHwmMb: number | null; vmHwmMb?: number | null };
        parsed.outsideHwmMb = outsideHwmKb > 0 ? outsideHwmKb / 1024 : null;
        if ('vmHwmMb' in parsed && parsed.vmHwmMb === null) parsed.vmHwmMb = parsed.outsideHwmMb;
        progress(`${label}. child: ${line.length > 600 ? line.slice(0, 600) + '…' : line}`);
        resolve(parsed);
      } catch {
        reject(new Error(`${script} exited (code ${code}, signal ${signal}) without a report:\n${stderr.slice(-4000)}`));
      }
    });
  });
}

// ---------------------------------------------------------------- output
if (rows.length > 0) {
  const totalSeconds = (performance.now() - runStarted) / 1000;
  const header = '| metric | Strata | baseline / reference | target | met? |\n|---|---|---|---|---|';
  const table = [header, ...rows.map((r) => `| ${r.metric} | ${r.strata} | ${r.reference} | ${r.target} | ${r.met} |`)].join('\n');
  const sizes =
    `Sizes: ${SIZES.conversations} conversations × ${SIZES.messages} messages (run 1), ` +
    `${SIZES.baselineConversations} baseline deletes over ${SIZES.baselineUsers} users, ${SIZES.baselineConcurrency} at once (run 2), ` +
    `${SIZES.latencyDeletes} sequential deletes (run 3), bulk delete of ${SIZES.bulkConversations} conversations × ${SIZES.bulkMessages} messages (run 4), ` +
    `one conversation of ${SIZES.bigMessages} messages in one go (run 6) and another under limits { cpuMs: ${SIZES.bigCpuBudgetMs} } per invocation (run 9); ` +
    `${SIZES.cpuConversations} conversations for the worker's CPU after ${SIZES.cpuWarmup} to warm it up, ${SIZES.cpuProfileConversations} more under the profiler (run 7); ` +
    `${SIZES.fairDeletes} deletes per pass at ${SIZES.fairRatePerSecond}/s with 0 and ${SIZES.fairFiles} process_file jobs queued (run 8); ` +
    `gzip on run 1's documents and ${SIZES.gzipMiB} MiB of streamed text per text (run 10); ` +
    `${SIZES.workers} extra worker invocation(s) + the pg_net wake-up in run 1; ` +
    `raw reference ${SIZES.rawConcurrency} PutObjects at once; ARCHIVE_CONCURRENCY ${ARCHIVE.concurrency}, WORKER_CPU_BUDGET_MS ${process.env.WORKER_CPU_BUDGET_MS ?? '600 (default)'}; ${TEXT_SOURCE}.`;
  const loadAtEnd = readLoadavg();
  const machine =
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ${fmt(totalmem() / 1024 ** 3, 0)} GB, Node ${process.version}; everything (Postgres, s3rver, Deno, this script) on 127.0.0.1, ` +
    `on cores shared with other work. Load average (/proc/loadavg, 1 / 5 / 15 min) at the start ${loadAtStart.map((v) => fmt(v, 2)).join(' / ')}, at the end ${loadAtEnd.map((v) => fmt(v, 2)).join(' / ')}; ` +
    `1-minute load sampled every 5 s during the run: mean ${fmt(loads.reduce((a, b) => a + b, 0) / Math.max(1, loads.length))}, max ${fmt(Math.max(0, ...loads))}. Total run ${fmt(totalSeconds, 0)} s.`;
  const gzipTable = gzipTables.length
    ? '### gzip levels (run 10)\n\n| compression path | text | level | output ÷ input | CPU ms per MiB of JSON | wall ms per MiB |\n|---|---|---|---|---|---|\n' +
      gzipTables
        .flatMap((t) => t.results.map((r) => `| ${t.path} | ${t.text} (${fmt(r.inputBytes / 1024 / 1024, 1)} MiB) | ${r.level} | ${fmt(r.ratio, 4)} | ${fmt(r.cpuMsPerMiB, 1)} | ${fmt(r.wallMsPerMiB, 1)} |`))
        .join('\n') +
      '\n\nCPU is process.cpuUsage() (every thread) around the compression alone, the median of 5 rounds with the levels in a rotating order; the streamed path compresses on libuv\'s thread pool, so wall time there includes the hand-offs.\n\n'
    : '';
  const text = `${table}\n\n${sizes}\n\n${machine}\n\n${gzipTable}${notes.length ? 'Notes:\n\n' + notes.map((n) => `- ${n}`).join('\n') + '\n' : ''}`;
  process.stdout.write(`\n${text}`);
  await writeFile(
    path.join(BENCH_DIR, 'RESULTS.md'),
    `# Archive benchmark results\n\nGenerated by \`node --import tsx bench/archive/run.ts\` on ${new Date().toISOString()}.\n\n${text}`,
  );
  progress(`table written to ${path.relative(PROJECT_ROOT, path.join(BENCH_DIR, 'RESULTS.md'))}`);
}
