// Files benchmark: starts its own isolated Strata stack (temporary state
// directory, free ports, random JWT secret), uploads the same number of
// same-sized text files through presigned S3 URLs and through the `files`
// function (multipart/form-data), at the same concurrency, and measures
// throughput, per-upload latency and, per function instance of the local
// Edge Runtime (one Deno process each, with the hosted limits), CPU, peak
// memory and how instances retired or ended. Prints one markdown table (also
// written to bench/files/RESULTS.md) and stops the stack; the exit code is 1
// when an upload or its processing was lost, or an instance was killed at a
// hard limit (546).
// Run: node --import tsx bench/files/run.ts
import { inPool } from '../../supabase/functions/_shared/pool.ts';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import diagnostics from 'node:diagnostics_channel';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { signJwt } from '../../src/auth/jwt.ts';
import { findOrCreateConfirmedUser } from '../../src/dev/auth/store.ts';
import { PROJECT_ROOT } from '../../src/cli/project.ts';
import { formatNumber, intEnv, percentile, progress, runStarted, sleep } from '../common.ts';
import { describeLifecycle, describeUsage, killedCount, peakHwmKb, unhealthy, watchInstances, type InstanceReport } from '../instances.ts';
import { readStatus, type ProcStatus } from '../proc.ts';
import { startBenchStack } from '../stack.ts';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));

// ---------------------------------------------------------------- settings


const MiB = 1024 * 1024;
const DEFAULT_DIRECT_MAX = 5 * MiB;
const SIZES = {
  /** Files uploaded (and timed) in each of the two main phases. */
  files: intEnv('BENCH_FILES', 200),
  /** Size of each file in bytes (random ASCII words, text/plain). */
  fileBytes: intEnv('BENCH_FILE_BYTES', MiB),
  /** Uploads in flight at once, the same for both paths. */
  concurrency: intEnv('BENCH_CONCURRENCY', 8),
  /** Untimed uploads of the same kind on each phase's fresh instances. */
  warmup: intEnv('BENCH_WARMUP', 16, 0),
  /** Extra phase: presigned uploads that declare sha256 (0 skips it). */
  shaFiles: intEnv('BENCH_SHA_FILES', 100, 0),
  /** How often the function instances and their /proc are sampled. */
  sampleMs: intEnv('BENCH_SAMPLE_MS', 50),
  /** After the timed phases: how long to wait for the processing jobs (0 skips it). */
  processingWaitSeconds: intEnv('BENCH_PROCESSING_WAIT_SECONDS', 60, 0),
  /** Upper bound on any single request or wait. */
  stepTimeoutSeconds: intEnv('BENCH_STEP_TIMEOUT_SECONDS', 120),
};
const CONTENT_TYPE = 'text/plain';

// ---------------------------------------------------------------- helpers

const loads: number[] = [];
const loadSampler = setInterval(() => loads.push(loadavg()[0]!), 5000);
loadSampler.unref();

async function waitFor(label: string, check: () => Promise<boolean>, intervalMs: number, timeoutMs: number): Promise<boolean> {
  const maxPolls = Math.max(1, Math.ceil(timeoutMs / intervalMs));
  for (let poll = 0; poll < maxPolls; poll++) {
    if (await check()) return true;
    await sleep(intervalMs);
  }
  progress(`gave up waiting for ${label} after ${timeoutMs / 1000} s`);
  return false;
}

/** Runs fn over 0..count-1 with at most `limit` in flight. */
const pool = (count: number, limit: number, fn: (index: number) => Promise<void>) =>
  inPool(Array.from({ length: count }, (_, i) => i), limit, fn);


const fmt = (n: number, digits = 1) => formatNumber(n, digits);
const mib = (kb: number) => kb / 1024;
const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

// ---------------------------------------------------------------- file contents

/** Random lowercase "words" and line breaks: valid text/plain, no NUL, no binary signature. */
function randomText(bytes: number): Buffer {
  const out = Buffer.alloc(bytes);
  const noise = randomBytes(bytes);
  let wordLeft = 1 + (noise[0]! % 9);
  let lineLeft = 60 + (noise[1]! % 20);
  for (let i = 0; i < bytes; i++) {
    if (wordLeft === 0) {
      out[i] = lineLeft <= 0 ? 0x0a : 0x20;
      if (lineLeft <= 0) lineLeft = 60 + (noise[i]! % 20);
      wordLeft = 1 + (noise[i]! % 9);
    } else {
      out[i] = 0x61 + (noise[i]! % 26);
      wordLeft--;
    }
    lineLeft--;
  }
  return out;
}
// A few distinct bodies; each upload copies one and stamps its own header, so
// every object differs (different sha256) without holding N MiB in memory.
const BASES = Array.from({ length: 8 }, () => randomText(SIZES.fileBytes));
function fileBody(tag: string, index: number): Uint8Array<ArrayBuffer> {
  const body = new Uint8Array(SIZES.fileBytes);
  body.set(BASES[index % BASES.length]!);
  const header = Buffer.from(`${tag} file ${index} ${randomInt(1e9)}\n`, 'ascii');
  body.set(header.subarray(0, Math.min(header.length, body.length)));
  return body;
}

// ---------------------------------------------------------------- HTTP traffic of this process's servers

/**
 * The gateway and s3rver run in this Node process; the diagnostics channel
 * sees every request they serve. Tallied during the timed phases only, to
 * show which bytes pass through the functions process.
 */
interface Traffic {
  /** Request bodies sent to the gateway (i.e. to the function). */
  gatewayRequests: number;
  gatewayInBytes: number;
  /** S3 requests by kind; presigned PUTs (X-Amz-Signature in the query) come from the client, the rest from Deno. */
  s3: Record<'presignedPut' | 'put' | 'head' | 'rangeGet' | 'fullGet' | 'other', number>;
  s3PutBytesFromDeno: number;
  s3GetBytes: number;
}
const emptyTraffic = (): Traffic => ({
  gatewayRequests: 0,
  gatewayInBytes: 0,
  s3: { presignedPut: 0, put: 0, head: 0, rangeGet: 0, fullGet: 0, other: 0 },
  s3PutBytesFromDeno: 0,
  s3GetBytes: 0,
});
let traffic: Traffic | null = null;
const ports = { gateway: -1, s3: -1 };
diagnostics.subscribe('http.server.request.start', (message) => {
  const tally = traffic;
  if (!tally) return;
  const { request, response } = message as { request: IncomingMessage; response: ServerResponse };
  const port = request.socket.localPort;
  const length = Number(request.headers['content-length'] ?? 0) || 0;
  if (port === ports.gateway) {
    tally.gatewayRequests++;
    tally.gatewayInBytes += length;
  } else if (port === ports.s3) {
    const method = request.method ?? '';
    if (method === 'PUT' && (request.url ?? '').includes('X-Amz-Signature')) tally.s3.presignedPut++;
    else if (method === 'PUT') {
      tally.s3.put++;
      tally.s3PutBytesFromDeno += length;
    } else if (method === 'HEAD') tally.s3.head++;
    else if (method === 'GET') {
      tally.s3[request.headers.range ? 'rangeGet' : 'fullGet']++;
      response.once('finish', () => {
        tally.s3GetBytes += Number(response.getHeader('content-length') ?? 0) || 0;
      });
    } else tally.s3.other++;
  }
});

// ---------------------------------------------------------------- the stack

// Files above the direct-upload default get a limit that lets them through the function.
const functionEnv: Record<string, string> = {};
if (SIZES.fileBytes > DEFAULT_DIRECT_MAX - 64 * 1024) functionEnv.FILES_DIRECT_MAX_BYTES = String(SIZES.fileBytes + 64 * 1024);
const bench = await startBenchStack({ name: 'files', functionEnv });

type Mode = 'presigned' | 'presigned-sha256' | 'direct';

interface Upload {
  totalMs: number;
  steps: number[];
}

interface PhaseResult {
  mode: Mode;
  count: number;
  ok: number;
  errors: string[];
  wallMs: number;
  latencies: number[];
  steps: number[][];
  /** The fresh instance right after it booted, before the warm-up. */
  fresh: ProcStatus | null;
  /** The same after the warm-up and 1.5 s idle: the phase's baseline. */
  idle: ProcStatus | null;
  /** The `files` instances during the timed phase. */
  instances: InstanceReport;
  /** Highest VmHWM of any of them (the one warmed up: VmHWM reset right before the phase). */
  peakKb: number;
  /** Whole-process CPU of the instances (every thread). */
  cpuMs: number;
  /** Main-thread CPU (what the hosted limit counts). */
  mainCpuMs: number;
  traffic: Traffic;
}

/** A path's phases taken together (the ABBA halves). */
interface Combined {
  mode: Mode;
  halves: PhaseResult[];
  count: number;
  ok: number;
  errors: string[];
  wallMs: number;
  latencies: number[];
  steps: number[][];
  cpuMs: number;
  mainCpuMs: number;
  traffic: Traffic;
  resetOk: boolean;
  /** Mean idle RSS of the halves. */
  idleKb: number;
  /** Highest VmHWM of any instance in the halves. */
  peakKb: number;
  /** Highest (peak − that half's idle baseline). */
  deltaKb: number;
  instances: InstanceReport[];
}

function combine(halves: PhaseResult[]): Combined {
  const sum = (f: (r: PhaseResult) => number) => halves.reduce((n, r) => n + f(r), 0);
  const traffic = emptyTraffic();
  for (const r of halves) {
    traffic.gatewayRequests += r.traffic.gatewayRequests;
    traffic.gatewayInBytes += r.traffic.gatewayInBytes;
    traffic.s3PutBytesFromDeno += r.traffic.s3PutBytesFromDeno;
    traffic.s3GetBytes += r.traffic.s3GetBytes;
    for (const key of Object.keys(traffic.s3) as Array<keyof Traffic['s3']>) traffic.s3[key] += r.traffic.s3[key];
  }
  const resetOk = halves.every((r) => r.instances.resetsOk);
  return {
    mode: halves[0]!.mode,
    halves,
    count: sum((r) => r.count),
    ok: sum((r) => r.ok),
    errors: halves.flatMap((r) => r.errors),
    wallMs: sum((r) => r.wallMs),
    latencies: halves.flatMap((r) => r.latencies),
    steps: halves.flatMap((r) => r.steps),
    cpuMs: sum((r) => r.cpuMs),
    mainCpuMs: sum((r) => r.mainCpuMs),
    traffic,
    resetOk,
    idleKb: sum((r) => r.idle?.rssKb ?? NaN) / halves.length,
    peakKb: Math.max(...halves.map((r) => r.peakKb)),
    deltaKb: Math.max(...halves.map((r) => r.peakKb - (r.idle?.rssKb ?? NaN))),
    instances: halves.map((r) => r.instances),
  };
}

interface Row {
  metric: string;
  presigned: string;
  direct: string;
  note: string;
}
const rows: Row[] = [];
const notes: string[] = [];

try {
  const running = bench.stack;
  const info = bench.info;
  ports.gateway = Number(new URL(info.apiUrl).port);
  ports.s3 = running.parts.s3.port;
  progress(`stack up: functions ${info.functionsUrl}, s3 ${info.s3Endpoint}; limits ${JSON.stringify(running.parts.functions.limits)}`);

  const db = bench.postgres({ max: 4, connection: { application_name: 'strata-bench-files' } });
  const user = await findOrCreateConfirmedUser(db, `bench-files-${randomBytes(6).toString('hex')}@bench.test`);
  const token = signJwt(
    { sub: user.id, email: user.email, role: 'authenticated', aud: 'authenticated', exp: Math.floor(Date.now() / 1000) + 4 * 3600 },
    info.jwtSecret,
  );
  const auth = { authorization: `Bearer ${token}` };
  const timeout = () => AbortSignal.timeout(SIZES.stepTimeoutSeconds * 1000);

  // Processing jobs (text extraction) run in archive-worker instances, woken by
  // pg_net (the relay) and the 5 s sweep (the scheduler). Both are paused
  // while uploading, so the timed phases measure uploads only; the queued
  // wake-ups are sent when they restart, after the phases.
  progress('pausing the pg_net relay and the scheduler (processing jobs wait until after the timed phases)');
  await bench.pauseBackground();

  const uploadPresigned = async (body: Uint8Array<ArrayBuffer>, name: string, withSha: boolean): Promise<Upload> => {
    const t0 = performance.now();
    const created = await fetch(`${info.functionsUrl}/files`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ name, content_type: CONTENT_TYPE, size: body.length, ...(withSha ? { sha256: sha256(body) } : {}) }),
      signal: timeout(),
    });
    const createdText = await created.text();
    if (created.status !== 201) throw new Error(`create answered ${created.status}: ${createdText.slice(0, 300)}`);
    const { file, upload } = JSON.parse(createdText) as { file: { id: string }; upload: { url: string; headers: Record<string, string> } };
    const t1 = performance.now();
    const put = await fetch(upload.url, { method: 'PUT', headers: upload.headers, body, signal: timeout() });
    const putText = await put.text();
    if (put.status !== 200) throw new Error(`PUT answered ${put.status}: ${putText.slice(0, 300)}`);
    const t2 = performance.now();
    const completed = await fetch(`${info.functionsUrl}/files/${file.id}/complete`, { method: 'POST', headers: auth, signal: timeout() });
    const completedText = await completed.text();
    if (completed.status !== 200) throw new Error(`complete answered ${completed.status}: ${completedText.slice(0, 300)}`);
    const status = (JSON.parse(completedText) as { file: { status: string } }).file.status;
    if (status !== 'uploaded') throw new Error(`complete left the file ${status}`);
    const t3 = performance.now();
    return { totalMs: t3 - t0, steps: [t1 - t0, t2 - t1, t3 - t2] };
  };

  const uploadDirect = async (body: Uint8Array<ArrayBuffer>, name: string): Promise<Upload> => {
    const t0 = performance.now();
    const form = new FormData();
    form.append('file', new Blob([body], { type: CONTENT_TYPE }), name);
    const response = await fetch(`${info.functionsUrl}/files`, { method: 'POST', headers: auth, body: form, signal: timeout() });
    const text = await response.text();
    if (response.status !== 201) throw new Error(`POST answered ${response.status}: ${text.slice(0, 300)}`);
    const status = (JSON.parse(text) as { file: { status: string } }).file.status;
    if (status !== 'uploaded') throw new Error(`the direct upload left the file ${status}`);
    return { totalMs: performance.now() - t0, steps: [performance.now() - t0] };
  };

  const uploadOne = (mode: Mode, tag: string, index: number) => {
    const body = fileBody(tag, index);
    const name = `${tag}-${index}.txt`;
    return mode === 'direct' ? uploadDirect(body, name) : uploadPresigned(body, name, mode === 'presigned-sha256');
  };

  /** The newest live instance of a function (the one taking its requests). */
  const activeInstance = (name: string) => running.parts.functions.instances(name).filter((i) => i.state === 'active').at(-1) ?? null;

  /**
   * One phase on fresh instances (so no phase inherits another's heap): the
   * runtime stops every instance, a GET boots a new `files` instance, then
   * untimed warm-up uploads of the same kind, 1.5 s idle (the baseline), and
   * `count` timed uploads at the configured concurrency while every `files`
   * instance is watched (its VmHWM reset at the start; an instance that
   * retires at a soft limit on the way is followed by a fresh one, watched too).
   */
  const runPhase = async (mode: Mode, count: number, label: string = mode): Promise<PhaseResult> => {
    progress(`${label}: fresh instances (every instance stopped; the next request boots a new one)`);
    await running.parts.functions.restart();
    await fetch(`${info.functionsUrl}/files`, { headers: auth, signal: timeout() }).then((r) => r.arrayBuffer());
    await sleep(500);
    const booted = activeInstance('files');
    const fresh = booted ? readStatus(booted.pid) : null;
    if (SIZES.warmup > 0) {
      progress(`${label}: ${SIZES.warmup} warm-up uploads (untimed)`);
      await pool(SIZES.warmup, SIZES.concurrency, async (i) => {
        await uploadOne(mode, `warm-${mode}`, i);
      });
    }
    await sleep(1500);
    const warmed = activeInstance('files');
    const idle = warmed ? readStatus(warmed.pid) : null;
    if (warmed?.id !== booted?.id) progress(`${label}: the warm-up already retired the first instance (now #${warmed?.id})`);
    const watch = watchInstances(running.parts.functions, 'files', SIZES.sampleMs);
    const tally = emptyTraffic();
    traffic = tally;
    const latencies: number[] = [];
    const steps: number[][] = [];
    const errors: string[] = [];
    progress(`${label}: ${count} timed uploads of ${SIZES.fileBytes} B, ${SIZES.concurrency} at once`);
    const t0 = performance.now();
    await pool(count, SIZES.concurrency, async (i) => {
      try {
        const upload = await uploadOne(mode, label, i);
        latencies.push(upload.totalMs);
        steps.push(upload.steps);
      } catch (error) {
        errors.push((error as Error).message);
      }
    });
    const wallMs = performance.now() - t0;
    await sleep(50); // lets the last responses' finish events land
    traffic = null;
    const instances = watch.stop();
    const peakKb = peakHwmKb(instances);
    progress(
      `${label}: ${latencies.length}/${count} ok in ${fmt(wallMs / 1000, 2)} s (${fmt((latencies.length * 1000) / wallMs)} files/s), ` +
        `p50 ${fmt(percentile(latencies, 50))} ms, p99 ${fmt(percentile(latencies, 99))} ms; ${describeLifecycle(instances)}; ${describeUsage(instances)}`,
    );
    if (errors.length) progress(`${label}: ${errors.length} failed, first: ${errors[0]}`);
    return { mode, count, ok: latencies.length, errors, wallMs, latencies, steps, fresh, idle, instances, peakKb, cpuMs: instances.processCpuMs, mainCpuMs: instances.cpuMs, traffic: tally };
  };

  // ABBA: each path in two halves, in the order presigned, direct, direct,
  // presigned, so that a drift in the machine's load hits both alike.
  const firstHalf = Math.ceil(SIZES.files / 2);
  const secondHalf = SIZES.files - firstHalf;
  const halves: Record<'presigned' | 'direct', PhaseResult[]> = { presigned: [], direct: [] };
  halves.presigned.push(await runPhase('presigned', firstHalf, 'presigned (A1)'));
  halves.direct.push(await runPhase('direct', firstHalf, 'direct (B1)'));
  if (secondHalf > 0) {
    halves.direct.push(await runPhase('direct', secondHalf, 'direct (B2)'));
    halves.presigned.push(await runPhase('presigned', secondHalf, 'presigned (A2)'));
  }
  const presigned = combine(halves.presigned);
  const direct = combine(halves.direct);
  const withSha = SIZES.shaFiles > 0 ? combine([await runPhase('presigned-sha256', SIZES.shaFiles)]) : null;

  // Rows as the database has them.
  const statusCounts = await db<{ status: string; n: number }[]>`
    select status, count(*)::int as n from public.files where user_id = ${user.id} group by status order by status`;
  const sizesOk = (await db<{ n: number }[]>`
    select count(*)::int as n from public.files where user_id = ${user.id} and size <> ${SIZES.fileBytes}`)[0]!.n === 0;
  progress(`rows: ${statusCounts.map((r) => `${r.n} ${r.status}`).join(', ')}; every size ${SIZES.fileBytes} B: ${sizesOk}`);

  // ======================================================= processing afterwards
  let processing: { files: number; done: number; failed: number; seconds: number; finished: boolean; instances: InstanceReport } | null = null;
  if (SIZES.processingWaitSeconds > 0) {
    const total = statusCounts.reduce((n, r) => n + r.n, 0);
    progress(`processing: restarting the relay and the scheduler; waiting up to ${SIZES.processingWaitSeconds} s for ${total} files to be processed`);
    await running.parts.functions.restart();
    const watch = watchInstances(running.parts.functions, 'archive-worker', SIZES.sampleMs);
    const t0 = performance.now();
    await bench.resumeBackground();
    let done = 0;
    let failed = 0;
    const finished = await waitFor(
      'processing',
      async () => {
        const [row] = await db<{ done: number; failed: number }[]>`
          select count(*) filter (where status = 'processed')::int as done, count(*) filter (where status = 'failed')::int as failed
            from public.files where user_id = ${user.id}`;
        done = row!.done;
        failed = row!.failed;
        return done + failed >= total;
      },
      250,
      SIZES.processingWaitSeconds * 1000,
    );
    const seconds = (performance.now() - t0) / 1000;
    await sleep(1500); // the last drains end and their instances are dropped or idle
    const instances = watch.stop();
    processing = { files: total, done, failed, seconds, finished, instances };
    progress(`processing: ${done} processed, ${failed} failed of ${total} in ${fmt(seconds, 1)} s; ${describeLifecycle(instances)}; ${describeUsage(instances)}`);
  }

  // ======================================================= the table
  const rate = (r: Combined) => (r.ok * 1000) / r.wallMs;
  const mibRate = (r: Combined) => (r.ok * SIZES.fileBytes) / MiB / (r.wallMs / 1000);
  const lat = (r: Combined) => `${fmt(percentile(r.latencies, 50))} / ${fmt(percentile(r.latencies, 99))}`;
  const stepP50 = (r: Combined, i: number) => percentile(r.steps.map((s) => s[i]!), 50);
  const peakText = (r: Combined) =>
    `${fmt(mib(r.peakKb))}${r.halves.length > 1 ? ` (halves: ${r.halves.map((h) => fmt(mib(h.peakKb))).join(' / ')})` : ''}${r.resetOk ? '' : ' (a VmHWM reset failed: includes the warm-up)'}`;
  const deltaKb = (r: Combined) => r.deltaKb;
  const freshDeltaKb = (r: Combined) => Math.max(...r.halves.map((h) => h.peakKb - (h.fresh?.rssKb ?? NaN)));
  const heapPeakMb = (r: Combined) => Math.max(0, ...r.instances.flatMap((i) => i.instances.map((w) => w.peakHeapBytes))) / MiB;
  const lifecycle = (r: Combined) => {
    const all = r.instances.flatMap((i) => i.instances);
    const retired = all.filter((i) => i.info.retiredBy).map((i) => i.info.retiredBy);
    const killed = r.instances.reduce((a, i) => a + killedCount(i), 0);
    const s546 = r.instances.reduce((a, i) => a + i.status546, 0);
    return `${all.length} (${r.instances.map((i) => i.instances.length).join(' + ')}); retired ${retired.length ? retired.join(', ') : 'none'}; killed ${killed}; 546: ${s546}`;
  };
  const cpuPerInstance = (r: Combined) => {
    const cpu = r.instances.flatMap((i) => i.instances.map((w) => w.cpuMs));
    return `${fmt(percentile(cpu, 50), 0)} / ${fmt(Math.max(...cpu), 0)}`;
  };
  const halvesText = (r: Combined, f: (h: PhaseResult) => number) => r.halves.map((h) => fmt(mib(f(h)))).join(' / ');
  const fileMiB = fmt(SIZES.fileBytes / MiB, 2);
  const per = (r: Combined, n: number) => n / Math.max(1, r.ok);
  const s3Calls = (r: Combined) => {
    const t = r.traffic.s3;
    const parts: Array<[number, string]> = [
      [t.presignedPut, 'presigned PUT (client)'],
      [t.put, 'PutObject'],
      [t.head, 'HeadObject'],
      [t.rangeGet, 'ranged GetObject'],
      [t.fullGet, 'full GetObject'],
      [t.other, 'other'],
    ];
    return parts.filter(([n]) => n > 0).map(([n, label]) => `${fmt(per(r, n), 2)} ${label}`).join(' · ') || 'none';
  };
  const throughDeno = (r: Combined) => per(r, r.traffic.gatewayInBytes + r.traffic.s3PutBytesFromDeno + r.traffic.s3GetBytes);
  const throughDenoText = (r: Combined) =>
    `${fmt(throughDeno(r) / MiB, 2)} (in ${fmt(per(r, r.traffic.gatewayInBytes) / MiB, 3)} · PutObject ${fmt(per(r, r.traffic.s3PutBytesFromDeno) / MiB, 2)} · GetObject ${fmt(per(r, r.traffic.s3GetBytes) / MiB, 3)})`;
  const resetsOk = presigned.resetOk && direct.resetOk && (withSha?.resetOk ?? true);

  rows.push(
    {
      metric: 'Uploads completed (status `uploaded`)',
      presigned: `${presigned.ok} / ${presigned.count}`,
      direct: `${direct.ok} / ${direct.count}`,
      note: `${fileMiB} MiB text/plain files (random ASCII words), ${SIZES.concurrency} uploads in flight; every row checked in the database${sizesOk ? ', all sizes match' : ', SIZE MISMATCH'}`,
    },
    {
      metric: 'Throughput (files/s)',
      presigned: fmt(rate(presigned)),
      direct: fmt(rate(direct)),
      note: `${fmt(rate(direct) / rate(presigned), 2)} × the presigned rate through the function; wall time ${fmt(presigned.wallMs / 1000, 2)} s vs ${fmt(direct.wallMs / 1000, 2)} s`,
    },
    {
      metric: 'Throughput (MiB/s of file content)',
      presigned: fmt(mibRate(presigned)),
      direct: fmt(mibRate(direct)),
      note: 'MiB = 2^20 B',
    },
    {
      metric: 'Per-upload latency p50 / p99 (ms)',
      presigned: lat(presigned),
      direct: lat(direct),
      note: 'presigned = create + PUT + complete, measured by the client as one upload; both halves pooled',
    },
    {
      metric: 'Latency by step, p50 (ms)',
      presigned: `create ${fmt(stepP50(presigned, 0))} · PUT ${fmt(stepP50(presigned, 1))} · complete ${fmt(stepP50(presigned, 2))}`,
      direct: `one POST ${fmt(stepP50(direct, 0))}`,
      note: 'create and complete go through the gateway to the function; the PUT goes straight to s3rver',
    },
    {
      metric: 'S3 requests per upload',
      presigned: s3Calls(presigned),
      direct: s3Calls(direct),
      note: 'counted at s3rver (in this process) during the timed phase',
    },
    {
      metric: 'Bytes through the functions process per upload (MiB)',
      presigned: throughDenoText(presigned),
      direct: throughDenoText(direct),
      note: 'request bodies sent to the function + its PutObject bodies + the GetObject bytes it reads back; the presigned PUT bypasses it',
    },
    {
      metric: 'Functions CPU per upload (ms): main thread / whole process',
      presigned: `${fmt(presigned.mainCpuMs / Math.max(1, presigned.ok))} / ${fmt(presigned.cpuMs / Math.max(1, presigned.ok))}`,
      direct: `${fmt(direct.mainCpuMs / Math.max(1, direct.ok))} / ${fmt(direct.cpuMs / Math.max(1, direct.ok))}`,
      note: 'over every `files` instance of the phase ÷ uploads: the main thread is what the hosted CPU limit counts (the supervisor reads /proc/<pid>/task/<pid>/schedstat); the whole process adds V8\'s GC and compiler threads (/proc/<pid>/stat)',
    },
    {
      metric: '`files` instances during the timed phases: count (per half); retired by; killed at a hard limit; 546 answers',
      presigned: lifecycle(presigned),
      direct: lifecycle(direct),
      note: 'limits as hosted: CPU soft 1 s (retire) / hard 2 s (kill), 256 MB, wall clock 150 s; a retired instance finishes its requests and a fresh one takes the next',
    },
    {
      metric: 'Main-thread CPU per instance during the phase, p50 / max (ms)',
      presigned: cpuPerInstance(presigned),
      direct: cpuPerInstance(direct),
      note: 'soft limit 1,000 ms, hard 2,000 ms (counted from boot; the warm-up uploads came before the phase)',
    },
    {
      metric: '`files` instance idle baseline (MiB RSS)',
      presigned: halvesText(presigned, (h) => h.idle?.rssKb ?? NaN),
      direct: halvesText(direct, (h) => h.idle?.rssKb ?? NaN),
      note: `per half (A1 / A2, B1 / B2): fresh instances per half (the runtime stops every instance; the next request boots one), then ${SIZES.warmup} untimed warm-up uploads of the same kind and 1.5 s idle`,
    },
    {
      metric: 'The same instance right after it booted (MiB RSS)',
      presigned: halvesText(presigned, (h) => h.fresh?.rssKb ?? NaN),
      direct: halvesText(direct, (h) => h.fresh?.rssKb ?? NaN),
      note: `0.5 s after a GET booted it; what ${SIZES.warmup} uploads leave behind is the difference to the baseline above`,
    },
    {
      metric: 'Peak per instance during the phase (MiB, VmHWM)',
      presigned: peakText(presigned),
      direct: peakText(direct),
      note: resetsOk
        ? 'the highest VmHWM of any `files` instance of the phase, read every ' + SIZES.sampleMs + ' ms; the warmed-up instance\'s VmHWM was reset to its RSS (`echo 5 > /proc/<pid>/clear_refs`, verified) right before the phase; the higher of the two halves'
        : 'clear_refs did not reset VmHWM here: a warmed-up instance\'s peak includes its warm-up',
    },
    {
      metric: 'Heap + external per instance, max (MB): what the 256 MB limit counts',
      presigned: fmt(heapPeakMb(presigned)),
      direct: fmt(heapPeakMb(direct)),
      note: 'the supervisor\'s reading (the instance reports heap + external every 250 ms, plus the anonymous RSS grown since); retires at 128 MB, killed at 256 MB',
    },
    {
      metric: 'Peak above the idle baseline (MiB)',
      presigned: fmt(mib(deltaKb(presigned))),
      direct: fmt(mib(deltaKb(direct))),
      note: `the higher of the two halves (each against its own baseline); ${SIZES.concurrency} uploads in flight × ${fileMiB} MiB = ${fmt((SIZES.concurrency * SIZES.fileBytes) / MiB)} MiB of file content at once`,
    },
    {
      metric: 'Peak above the process before its warm-up (MiB)',
      presigned: fmt(mib(freshDeltaKb(presigned))),
      direct: fmt(mib(freshDeltaKb(direct))),
      note: 'includes what the warm-up left resident (heap grown, not returned to the OS)',
    },
  );
  if (withSha) {
    rows.push({
      metric: `Presigned PUT with \`sha256\` declared (${withSha.count} files): files/s · p50 / p99 ms · function CPU ms/file · peak above baseline MiB`,
      presigned: `${fmt(rate(withSha))} · ${lat(withSha)} · ${fmt(withSha.cpuMs / Math.max(1, withSha.ok))} · ${fmt(mib(deltaKb(withSha)))} (${withSha.ok}/${withSha.count} ok; ${fmt(throughDeno(withSha) / MiB, 2)} MiB/upload through the function)`,
      direct: '— (a direct upload always gets a sha256: the function computes it)',
      note: `complete then GETs the whole object and hashes it (without sha256 it GETs 512 bytes to sniff the type); complete p50 ${fmt(stepP50(withSha, 2))} ms vs ${fmt(stepP50(presigned, 2))} ms without`,
    });
  }
  if (processing) {
    rows.push({
      metric: 'Processing afterwards (text extraction by archive-worker instances)',
      presigned: `all ${processing.files} files of the run: ${processing.done} processed, ${processing.failed} failed in ${fmt(processing.seconds, 1)} s${processing.finished ? '' : ' (STOPPED WAITING)'}`,
      direct: `= ${fmt(processing.done / processing.seconds)} files/s; main-thread CPU ${fmt(processing.instances.cpuMs / Math.max(1, processing.done))} ms/file (whole process ${fmt(processing.instances.processCpuMs / Math.max(1, processing.done))}); ${describeLifecycle(processing.instances)}; ${describeUsage(processing.instances)}`,
      note: 'the relay and the scheduler were paused during the timed phases, so no processing job ran while uploading; processing is the same for both paths',
    });
  }

  const allErrors = [...presigned.errors, ...direct.errors, ...(withSha?.errors ?? [])];
  if (allErrors.length) notes.push(`${allErrors.length} uploads failed; first: ${allErrors[0]}`);
  // A healthy run loses nothing and never reaches a hard limit.
  const problems = [
    ...(allErrors.length ? [`${allErrors.length} upload(s) failed`] : []),
    ...(sizesOk ? [] : ['a stored size differs from the uploaded one']),
    ...(processing && (processing.failed > 0 || !processing.finished) ? [`processing: ${processing.failed} failed, ${processing.files - processing.done - processing.failed} not processed`] : []),
    ...[...presigned.instances, ...direct.instances, ...(withSha?.instances ?? []), ...(processing ? [processing.instances] : [])]
      .map(unhealthy)
      .filter((p): p is string => p !== null),
  ];
  if (problems.length) {
    notes.unshift(`**FAILED: ${problems.join('; ')}.**`);
    progress(`FAILED: ${problems.join('; ')}`);
    process.exitCode = 1;
  }
  notes.push(
    `Order: ABBA halves of ${Math.ceil(SIZES.files / 2)} + ${SIZES.files - Math.ceil(SIZES.files / 2)} files (presigned A1, function B1, function B2, presigned A2), then presigned with sha256; throughput and latencies pool both halves. ` +
      'Every phase starts on fresh instances (the runtime stops every instance before it; the next request boots a new Deno process). ' +
      'Client, gateway, the Edge Runtime supervisor and s3rver share this Node process (as in `npm start`); Postgres and the Deno instances are separate processes on the same cores.',
  );
  notes.push(`Rows at the end: ${statusCounts.map((r) => `${r.n} ${r.status}`).join(', ')} (before processing).`);
} catch (error) {
  bench.fail('benchmark failed', error);
} finally {
  await bench.shutdown();
}

// ---------------------------------------------------------------- output
if (rows.length > 0) {
  const totalSeconds = (performance.now() - runStarted) / 1000;
  const header = '| metric | presigned PUT | through the function | note |\n|---|---|---|---|';
  const table = [header, ...rows.map((r) => `| ${r.metric} | ${r.presigned} | ${r.direct} | ${r.note} |`)].join('\n');
  const sizes =
    `Sizes: ${SIZES.files} files × ${SIZES.fileBytes} B per path, ${SIZES.concurrency} at once, ${SIZES.warmup} warm-up uploads per phase, ` +
    `${SIZES.shaFiles} presigned uploads with sha256; instances and their /proc sampled every ${SIZES.sampleMs} ms.`;
  const machine = `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ${fmt(totalmem() / 1024 ** 3, 0)} GB, Node ${process.version}; everything on 127.0.0.1; 1-minute load average during the run: mean ${fmt(loads.reduce((a, b) => a + b, 0) / Math.max(1, loads.length))}, max ${fmt(Math.max(0, ...loads))}. Total run ${fmt(totalSeconds, 0)} s.`;
  const text = `${table}\n\n${sizes}\n\n${machine}\n${notes.length ? '\n' + notes.map((n) => `- ${n}`).join('\n') + '\n' : ''}`;
  process.stdout.write(`\n${text}`);
  await writeFile(
    path.join(BENCH_DIR, 'RESULTS.md'),
    `# Files benchmark results\n\nGenerated by \`node --import tsx bench/files/run.ts\` on ${new Date().toISOString()}.\n\n${text}`,
  );
  progress(`table written to ${path.relative(PROJECT_ROOT, path.join(BENCH_DIR, 'RESULTS.md'))}`);
}
