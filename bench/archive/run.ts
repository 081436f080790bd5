// Archive benchmark: starts its own isolated Strata stack (temporary state
// directory, free ports, random JWT secret), measures the archive pipeline
// against a raw PutObject reference and the seeds' in-request baseline, prints
// one markdown table (also written to bench/archive/RESULTS.md), and stops the
// stack. Run: node --import tsx bench/archive/run.ts
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createGunzip, gunzipSync, gzipSync } from 'node:zlib';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import postgres from 'postgres';
import { PROJECT_ROOT } from '../../src/cli/project.ts';
import type { Stack } from '../../src/dev/stack.ts';
import { readArchiveSettings } from '../../supabase/functions/_shared/archive/settings.ts';
import { createBaseline, readIndex, s3rverRepairs } from './baseline.ts';
import { buildDocuments, createBulkConversations, createRealisticConversations, createUsers, loadCorpus, type CreatedConversation } from './data.ts';
import { fmtInt, formatNumber, intEnv, percentile, progress, runStarted, sleep } from '../common.ts';
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
  /** 6: messages in the one huge conversation. */
  bigMessages: intEnv('BENCH_BIG_MESSAGES', 200_000),
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

// The machine may be shared: the 1-minute load average, sampled through the run.
const loads: number[] = [];
const loadSampler = setInterval(() => loads.push(loadavg()[0]!), 5000);
loadSampler.unref();


/** Polls `check` every `intervalMs` until it returns true; a bounded number of times. */
async function waitFor(label: string, check: () => Promise<boolean>, intervalMs = 50, timeoutMs = SIZES.stepTimeoutSeconds * 1000): Promise<void> {
  const maxPolls = Math.ceil(timeoutMs / intervalMs);
  for (let poll = 0; poll < maxPolls; poll++) {
    if (await check()) return;
    await sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${label}`);
}

/** Runs fn over items with at most `limit` in flight. */
async function pool<T>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        await fn(items[index]!, index);
      }
    }),
  );
}


const fmt = (n: number, digits = 1) => formatNumber(n, digits);
const yes = (ok: boolean) => (ok ? '✅ yes' : '❌ no');
const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');
const md5Base64 = (data: Uint8Array) => createHash('md5').update(data).digest('base64');

// ---------------------------------------------------------------- the stack

const bench = await startBenchStack({ name: 'archive' });

interface Row {
  metric: string;
  strata: string;
  reference: string;
  target: string;
  met: string;
}
const rows: Row[] = [];
const notes: string[] = [];

try {
  const info = bench.info;
  progress(`stack up: db ${info.dbUrl.replace(/\/\/[^@]*@/, '//')}, s3 ${info.s3Endpoint}, functions ${info.functionsUrl}`);

  const db = bench.postgres({ max: 16, connection: { application_name: 'strata-bench' } });
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

  const waitIdle = (label: string) =>
    waitFor(`no pending or running jobs (${label})`, async () => {
      const [row] = await db<{ n: number }[]>`select count(*)::int as n from private.jobs where status in ('pending', 'running')`;
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
    await pool(ids, 16, async (id) => {
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
    progress(`warm-up: ${SIZES.warmup} conversations through the worker and PutObject`);
    const warmUsers = await createUsers(db, 2, 'bench-warmup');
    const warm = await createRealisticConversations(db, { users: warmUsers, count: SIZES.warmup, messagesPerConversation: SIZES.messages, seed: 9, corpus: CORPUS });
    const warmDocuments = await buildDocuments(db, warm.map((c) => c.id), new Date().toISOString());
    await pool([...warmDocuments], SIZES.rawConcurrency, async ([id, json]) => {
      await s3Client.send(new PutObjectCommand({ Bucket: bucket, Key: `bench-warmup/${id}.json.gz`, Body: gzipSync(json) }));
    });
    await db`delete from public.conversations where user_id = any(${warmUsers}::uuid[])`;
    const calls = Array.from({ length: SIZES.workers }, () => callWorker().catch(() => undefined));
    await waitArchived('warm-up', warmUsers, SIZES.warmup, performance.now());
    await Promise.all(calls);
  }

  // ======================================================= 1. throughput
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
    await pool(objects, concurrency, async (o) => {
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
  const archiveHalf = async (half: number) => {
    const users = halves[half]!;
    const expected = throughputConversations.filter((c) => halfOf(c.userId) === half).length;
    await waitIdle('before a throughput half');
    const started = performance.now();
    await db`delete from public.conversations where user_id = any(${users}::uuid[])`;
    deleteStatementMs += performance.now() - started;
    const calls = Array.from({ length: SIZES.workers }, () => callWorker().catch((error) => ({ error: String((error as Error).message) })));
    const ms = await waitArchived(`throughput half ${half + 1}`, users, expected, started);
    manualSummaries.push(...(await Promise.all(calls)));
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
  documents.clear();
  const rawRate = rawObjects.length / (rawMs / 1000);
  const rawWide = wide ? { rate: rawObjects.length / (rawWideMs / 1000) } : null;
  const strataRate = SIZES.conversations / (strataMs / 1000);
  progress(`1. raw ${fmt(rawRate)} objects/s, Strata ${fmt(strataRate)} conversations/s (the DELETE statements took ${fmt(deleteStatementMs, 0)} ms in all)`);
  progress(`1. worker invocations: ${manualSummaries.map((s) => JSON.stringify(s)).join(' ')}`);

  progress('1. verifying every archive (HeadObject sha256 vs index) and a downloaded sample');
  const throughputCheck = await verifyStrata(throughputIds, 50);
  const strataBytesAvg = throughputCheck.rows.reduce((a, r) => a + Number(r.bytes ?? 0), 0) / Math.max(1, throughputCheck.rows.length);

  // ======================================================= 2. baseline
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
  await pool(baselineConversations, SIZES.baselineConcurrency, async (c) => {
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

  // ======================================================= 6. peak memory, one huge conversation
  progress(`6. one conversation of ${SIZES.bigMessages} messages (~200 B each) with generate_series`);
  const [bigUser] = await createUsers(db, 1, 'bench-big');
  const bigId = (await db<{ id: string }[]>`
    insert into public.conversations (user_id, title) values (${bigUser!}, 'One very long conversation') returning id`)[0]!.id;
  await db`
    insert into public.messages (conversation_id, user_id, role, content, tokens, created_at)
    select ${bigId}::uuid, ${bigUser!}::uuid, case when i % 2 = 1 then 'user' else 'assistant' end,
           left('Message ' || i || ': ' || repeat(md5(i::text) || ' ', 7), 200), 50,
           now() - interval '30 days' + make_interval(secs => i)
      from generate_series(1, ${SIZES.bigMessages}::int) i`;
  await waitIdle('before the big conversation');
  // Delete it and, in the same transaction, park the job an hour ahead so the
  // Deno worker (woken by this very delete) leaves it to the measured process.
  await db.begin(async (tx) => {
    await tx`delete from public.conversations where id = ${bigId}`;
    const parked = await tx`update private.jobs set run_after = now() + interval '1 hour'
                             where kind = 'archive_conversation' and subject_id = ${bigId} and status = 'pending'`;
    if (parked.count !== 1) throw new Error('the big conversation delete did not queue a job');
  });
  progress('6. archiving it in a separate Node process running drainJobs (measuring its peak RSS)');
  const child = await runChild(bigId, info);
  const [bigRow] = await db<{ status: string; sha256: string | null; s3_key: string | null; bytes: string | null; message_count: number | null }[]>`
    select status, sha256, s3_key, bytes, message_count from public.archived_conversations where conversation_id = ${bigId}`;
  let bigShaMatches = false;
  let bigJsonBytes = 0;
  let bigHeadSha: string | undefined;
  if (bigRow?.status === 'stored' && bigRow.s3_key) {
    const head = await s3Client.send(new HeadObjectCommand({ Bucket: bucket, Key: bigRow.s3_key }));
    bigHeadSha = head.Metadata?.sha256;
    const object = await s3Client.send(new GetObjectCommand({ Bucket: bucket, Key: bigRow.s3_key }));
    const hash = createHash('sha256');
    await pipeline(object.Body as Readable, createGunzip(), async function* (source: AsyncIterable<Buffer>) {
      for await (const chunk of source) {
        hash.update(chunk);
        bigJsonBytes += chunk.length;
      }
    });
    const downloaded = hash.digest('hex');
    bigShaMatches = downloaded === bigRow.sha256 && bigHeadSha === bigRow.sha256;
  }
  progress(`6. peak RSS ${fmt(child.vmHwmMb ?? NaN)} MB, ${fmt(child.elapsedMs / 1000, 1)} s, status ${bigRow?.status}, sha256 ${bigShaMatches ? 'matches' : 'DOES NOT match'}`);

  // ======================================================= the table
  const strataLost = throughputCheck.lost + latencyCheck.lost + bulkCheck.lost;
  const strataChecked = throughputIds.length + latencyConversations.length + bulkIds.length;
  const deepChecked = throughputCheck.deepChecked + latencyCheck.deepChecked + bulkCheck.deepChecked;
  const deepBad = throughputCheck.deepBad + latencyCheck.deepBad + bulkCheck.deepBad;
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
  );
  if (throughputCheck.reasons || latencyCheck.reasons || bulkCheck.reasons) {
    notes.push(`Strata losses: ${[throughputCheck.reasons, latencyCheck.reasons, bulkCheck.reasons].filter(Boolean).join('; ')}`);
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
} catch (error) {
  bench.fail('benchmark failed', error);
} finally {
  await bench.shutdown();
}

async function runChild(conversationId: string, info: Stack['info']) {
  return new Promise<{ summary?: { by_kind?: Record<string, { done: number }> }; elapsedMs: number; vmHwmMb: number | null }>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(BENCH_DIR, 'one-conversation-worker.ts'), conversationId], {
      cwd: PROJECT_ROOT,
      env: {
        ...process.env,
        SUPABASE_DB_URL: info.dbUrl,
        AWS_ACCESS_KEY_ID: info.s3AccessKeyId,
        AWS_SECRET_ACCESS_KEY: info.s3SecretAccessKey,
        AWS_REGION: info.s3Region,
        S3_BUCKET_NAME: info.s3Bucket,
        S3_ENDPOINT: info.s3Endpoint,
        S3_FORCE_PATH_STYLE: 'true',
        S3_SSE: 'none',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    // Also sample the peak from outside, in case the child dies before reporting.
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
        const parsed = JSON.parse(line) as { summary?: { by_kind?: Record<string, { done: number }> }; elapsedMs: number; vmHwmMb: number | null };
        if (parsed.vmHwmMb === null && outsideHwmKb > 0) parsed.vmHwmMb = outsideHwmKb / 1024;
        progress(`6. child: ${line}`);
        resolve(parsed);
      } catch {
        reject(new Error(`the one-conversation worker exited (code ${code}, signal ${signal}) without a report:\n${stderr.slice(-4000)}`));
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
    `one conversation of ${SIZES.bigMessages} messages (run 6); ${SIZES.workers} extra worker invocation(s) + the pg_net wake-up in run 1; ` +
    `raw reference ${SIZES.rawConcurrency} PutObjects at once; ARCHIVE_CONCURRENCY ${ARCHIVE.concurrency}; ${TEXT_SOURCE}.`;
  const machine = `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ${fmt(totalmem() / 1024 ** 3, 0)} GB, Node ${process.version}; everything (Postgres, s3rver, Deno, this script) on 127.0.0.1; 1-minute load average during the run: mean ${fmt(loads.reduce((a, b) => a + b, 0) / Math.max(1, loads.length))}, max ${fmt(Math.max(0, ...loads))}. Total run ${fmt(totalSeconds, 0)} s.`;
  const text = `${table}\n\n${sizes}\n\n${machine}\n${notes.length ? '\n' + notes.map((n) => `- ${n}`).join('\n') + '\n' : ''}`;
  process.stdout.write(`\n${text}`);
  await writeFile(
    path.join(BENCH_DIR, 'RESULTS.md'),
    `# Archive benchmark results\n\nGenerated by \`node --import tsx bench/archive/run.ts\` on ${new Date().toISOString()}.\n\n${text}`,
  );
  progress(`table written to ${path.relative(PROJECT_ROOT, path.join(BENCH_DIR, 'RESULTS.md'))}`);
}
