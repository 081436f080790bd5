// Files benchmark: starts its own isolated Strata stack (temporary state
// directory, free ports, random JWT secret), uploads the same number of
// same-sized text files through presigned S3 URLs and through the `files`
// function (multipart/form-data), at the same concurrency, and measures
// throughput, per-upload latency and the functions process's CPU and peak
// memory for each. Prints one markdown table (also written to
// bench/files/RESULTS.md) and stops the stack.
// Run: node --import tsx bench/files/run.ts
import { inPool } from '../../supabase/functions/_shared/pool.ts';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import diagnostics from 'node:diagnostics_channel';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { signJwt } from '../../src/auth/jwt.ts';
import { findOrCreateConfirmedUser } from '../../src/dev/auth/store.ts';
import { PROJECT_ROOT } from '../../src/cli/project.ts';
import { formatNumber, intEnv, percentile, progress, runStarted, sleep } from '../common.ts';
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
  /** Untimed uploads of the same kind after each fresh functions start. */
  warmup: intEnv('BENCH_WARMUP', 16, 0),
  /** Extra phase: presigned uploads that declare sha256 (0 skips it). */
  shaFiles: intEnv('BENCH_SHA_FILES', 100, 0),
  /** RSS sampling interval (cross-check of VmHWM). */
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

// ---------------------------------------------------------------- /proc of the functions process

interface ProcStatus {
  rssKb: number;
  hwmKb: number;
}
function readStatus(pid: number): ProcStatus | null {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = /^VmRSS:\s+(\d+) kB/m.exec(text);
    const hwm = /^VmHWM:\s+(\d+) kB/m.exec(text);
    if (!rss || !hwm) return null;
    return { rssKb: Number(rss[1]), hwmKb: Number(hwm[1]) };
  } catch {
    return null;
  }
}
/** User + system CPU of the whole process (all threads), in ms. */
function readCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the command: state is field 3, utime 14, stime 15 (1-based in proc(5)).
    const ticks = Number(fields[11]) + Number(fields[12]);
    return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return NaN;
  }
}
/**
 * Resets VmHWM to the current RSS (writing "5" to clear_refs, Linux ≥ 4.0)
 * and checks that it took: afterwards VmHWM must be close to VmRSS.
 */
function resetPeak(pid: number): { ok: boolean; before: ProcStatus | null; after: ProcStatus | null; error?: string } {
  const before = readStatus(pid);
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch (error) {
    return { ok: false, before, after: readStatus(pid), error: (error as Error).message };
  }
  const after = readStatus(pid);
  const ok = Boolean(after && after.hwmKb <= after.rssKb + 2048);
  return { ok, before, after };
}

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
  /** Right after the restart, before the warm-up. */
  fresh: ProcStatus | null;
  idle: ProcStatus | null;
  reset: ReturnType<typeof resetPeak>;
  peakKb: number;
  sampledMaxKb: number;
  cpuMs: number;
  pid: number;
  samples: number;
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
  traffic: Traffic;
  samples: number;
  resetOk: boolean;
  /** Mean idle RSS of the halves. */
  idleKb: number;
  /** Highest VmHWM of the halves (NaN when a reset failed). */
  peakKb: number;
  sampledMaxKb: number;
  /** Highest (peak − that half's idle baseline); the sampled RSS when a reset failed. */
  deltaKb: number;
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
  const resetOk = halves.every((r) => r.reset.ok);
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
    traffic,
    samples: sum((r) => r.samples),
    resetOk,
    idleKb: sum((r) => r.idle?.rssKb ?? NaN) / halves.length,
    peakKb: resetOk ? Math.max(...halves.map((r) => r.peakKb)) : NaN,
    sampledMaxKb: Math.max(...halves.map((r) => r.sampledMaxKb)),
    deltaKb: Math.max(...halves.map((r) => (resetOk ? r.peakKb : r.sampledMaxKb) - (r.idle?.rssKb ?? NaN))),
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
  progress(`stack up: functions ${info.functionsUrl}, s3 ${info.s3Endpoint}, deno pid ${running.parts.functions.pid}`);

  const db = bench.postgres({ max: 4, connection: { application_name: 'strata-bench-files' } });
  const user = await findOrCreateConfirmedUser(db, `bench-files-${randomBytes(6).toString('hex')}@bench.test`);
  const token = signJwt(
    { sub: user.id, email: user.email, role: 'authenticated', aud: 'authenticated', exp: Math.floor(Date.now() / 1000) + 4 * 3600 },
    info.jwtSecret,
  );
  const auth = { authorization: `Bearer ${token}` };
  const timeout = () => AbortSignal.timeout(SIZES.stepTimeoutSeconds * 1000);

  // Processing jobs (text extraction) run in the same Deno process, woken by
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

  /**
   * One phase: a fresh functions process (so no phase inherits another's
   * heap), untimed warm-up uploads of the same kind, the idle baseline, the
   * peak reset, then `count` timed uploads at the configured concurrency.
   */
  const runPhase = async (mode: Mode, count: number, label: string = mode): Promise<PhaseResult> => {
    progress(`${label}: restarting the functions process`);
    await running.parts.functions.restart();
    const pid = running.parts.functions.pid;
    await sleep(500);
    const fresh = readStatus(pid);
    if (SIZES.warmup > 0) {
      progress(`${label}: ${SIZES.warmup} warm-up uploads (untimed)`);
      await pool(SIZES.warmup, SIZES.concurrency, async (i) => {
        await uploadOne(mode, `warm-${mode}`, i);
      });
    }
    await sleep(1500);
    const idle = readStatus(pid);
    const reset = resetPeak(pid);
    progress(
      `${label}: idle RSS ${fmt(mib(idle?.rssKb ?? NaN))} MiB; VmHWM ${fmt(mib(reset.before?.hwmKb ?? NaN))} → ${fmt(mib(reset.after?.hwmKb ?? NaN))} MiB after clear_refs (${reset.ok ? 'reset works' : `reset FAILED${reset.error ? ': ' + reset.error : ''}`})`,
    );
    let sampledMaxKb = reset.after?.rssKb ?? 0;
    let samples = 0;
    const sampler = setInterval(() => {
      const status = readStatus(pid);
      samples++;
      if (status) sampledMaxKb = Math.max(sampledMaxKb, status.rssKb);
    }, SIZES.sampleMs);
    const cpu0 = readCpuMs(pid);
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
    clearInterval(sampler);
    await sleep(50); // lets the last responses' finish events land
    traffic = null;
    const cpuMs = readCpuMs(pid) - cpu0;
    const end = readStatus(pid);
    if (end) sampledMaxKb = Math.max(sampledMaxKb, end.rssKb);
    const peakKb = reset.ok && end ? end.hwmKb : NaN;
    progress(
      `${label}: ${latencies.length}/${count} ok in ${fmt(wallMs / 1000, 2)} s (${fmt((latencies.length * 1000) / wallMs)} files/s), ` +
        `p50 ${fmt(percentile(latencies, 50))} ms, p99 ${fmt(percentile(latencies, 99))} ms; VmHWM ${fmt(mib(peakKb))} MiB, sampled RSS max ${fmt(mib(sampledMaxKb))} MiB; Deno CPU ${fmt(cpuMs / Math.max(1, latencies.length))} ms/file`,
    );
    if (errors.length) progress(`${label}: ${errors.length} failed, first: ${errors[0]}`);
    return { mode, count, ok: latencies.length, errors, wallMs, latencies, steps, fresh, idle, reset, peakKb, sampledMaxKb, cpuMs, pid, samples, traffic: tally };
  };

  const startPid = running.parts.functions.pid;
  const startIdle = readStatus(startPid);

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
  let processing: { files: number; done: number; failed: number; seconds: number; finished: boolean; peakKb: number; idleKb: number; cpuMs: number } | null = null;
  if (SIZES.processingWaitSeconds > 0) {
    const total = statusCounts.reduce((n, r) => n + r.n, 0);
    const pid = running.parts.functions.pid;
    const idle = readStatus(pid);
    const reset = resetPeak(pid);
    const cpu0 = readCpuMs(pid);
    progress(`processing: restarting the relay and the scheduler; waiting up to ${SIZES.processingWaitSeconds} s for ${total} files to be processed`);
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
    const end = readStatus(pid);
    processing = { files: total, done, failed, seconds, finished, peakKb: reset.ok && end ? end.hwmKb : NaN, idleKb: idle?.rssKb ?? NaN, cpuMs: readCpuMs(pid) - cpu0 };
    progress(`processing: ${done} processed, ${failed} failed of ${total} in ${fmt(seconds, 1)} s; VmHWM ${fmt(mib(processing.peakKb))} MiB`);
  }

  // ======================================================= the table
  const rate = (r: Combined) => (r.ok * 1000) / r.wallMs;
  const mibRate = (r: Combined) => (r.ok * SIZES.fileBytes) / MiB / (r.wallMs / 1000);
  const lat = (r: Combined) => `${fmt(percentile(r.latencies, 50))} / ${fmt(percentile(r.latencies, 99))}`;
  const stepP50 = (r: Combined, i: number) => percentile(r.steps.map((s) => s[i]!), 50);
  const peakText = (r: Combined) =>
    r.resetOk
      ? `${fmt(mib(r.peakKb))}${r.halves.length > 1 ? ` (halves: ${r.halves.map((h) => fmt(mib(h.peakKb))).join(' / ')})` : ''}`
      : `n/a (reset failed); sampled ${fmt(mib(r.sampledMaxKb))}`;
  const deltaKb = (r: Combined) => r.deltaKb;
  const freshDeltaKb = (r: Combined) => Math.max(...r.halves.map((h) => (r.resetOk ? h.peakKb : h.sampledMaxKb) - (h.fresh?.rssKb ?? NaN)));
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
      metric: 'Functions process CPU per upload (ms)',
      presigned: fmt(presigned.cpuMs / Math.max(1, presigned.ok)),
      direct: fmt(direct.cpuMs / Math.max(1, direct.ok)),
      note: 'user + system time of the Deno process (/proc/<pid>/stat) over the phase ÷ uploads (includes GC and idle timers)',
    },
    {
      metric: 'Functions process idle baseline (MiB RSS)',
      presigned: halvesText(presigned, (h) => h.idle?.rssKb ?? NaN),
      direct: halvesText(direct, (h) => h.idle?.rssKb ?? NaN),
      note: `per half (A1 / A2, B1 / B2): a fresh Deno process per half (restarted), then ${SIZES.warmup} untimed warm-up uploads of the same kind and 1.5 s idle`,
    },
    {
      metric: 'Same process before its warm-up (MiB RSS)',
      presigned: halvesText(presigned, (h) => h.fresh?.rssKb ?? NaN),
      direct: halvesText(direct, (h) => h.fresh?.rssKb ?? NaN),
      note: `0.5 s after the restart (right after stack start it was ${fmt(mib(startIdle?.rssKb ?? NaN))} MiB); what ${SIZES.warmup} uploads leave behind is the difference to the baseline above`,
    },
    {
      metric: 'Functions process peak during the phase (MiB, VmHWM)',
      presigned: peakText(presigned),
      direct: peakText(direct),
      note: resetsOk
        ? `VmHWM reset to the current RSS with \`echo 5 > /proc/<pid>/clear_refs\` right before the phase (verified each time: VmHWM fell to VmRSS, e.g. ${fmt(mib(direct.halves[0]!.reset.before?.hwmKb ?? NaN))} → ${fmt(mib(direct.halves[0]!.reset.after?.hwmKb ?? NaN))} MiB before B1); the higher of the two halves`
        : 'clear_refs did not reset VmHWM here: the peak is the RSS sampled every ' + SIZES.sampleMs + ' ms',
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
    {
      metric: `RSS sampled every ${SIZES.sampleMs} ms, max (MiB)`,
      presigned: fmt(mib(presigned.sampledMaxKb)),
      direct: fmt(mib(direct.sampledMaxKb)),
      note: `cross-check of VmHWM (${presigned.samples} / ${direct.samples} samples)`,
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
      metric: 'Processing afterwards (text extraction, archive-worker in the same Deno process)',
      presigned: `all ${processing.files} files of the run: ${processing.done} processed, ${processing.failed} failed in ${fmt(processing.seconds, 1)} s${processing.finished ? '' : ' (STOPPED WAITING)'}`,
      direct: `= ${fmt(processing.done / processing.seconds)} files/s; CPU ${fmt(processing.cpuMs / Math.max(1, processing.done))} ms/file; peak ${fmt(mib(processing.peakKb))} MiB (${fmt(mib(processing.peakKb - processing.idleKb))} above ${fmt(mib(processing.idleKb))})`,
      note: 'the relay and the scheduler were paused during the timed phases, so no processing job ran while uploading; processing is the same for both paths',
    });
  }

  const allErrors = [...presigned.errors, ...direct.errors, ...(withSha?.errors ?? [])];
  if (allErrors.length) notes.push(`${allErrors.length} uploads failed; first: ${allErrors[0]}`);
  notes.push(
    `Order: ABBA halves of ${Math.ceil(SIZES.files / 2)} + ${SIZES.files - Math.ceil(SIZES.files / 2)} files (presigned A1, function B1, function B2, presigned A2), then presigned with sha256; throughput and latencies pool both halves. ` +
      'The functions process is restarted before each phase, so each starts from its own fresh heap. ' +
      'Client, gateway and s3rver share this Node process (as in `npm start`); Postgres and Deno are separate processes on the same cores.',
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
    `${SIZES.shaFiles} presigned uploads with sha256; RSS sampled every ${SIZES.sampleMs} ms.`;
  const machine = `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ${fmt(totalmem() / 1024 ** 3, 0)} GB, Node ${process.version}; everything on 127.0.0.1; 1-minute load average during the run: mean ${fmt(loads.reduce((a, b) => a + b, 0) / Math.max(1, loads.length))}, max ${fmt(Math.max(0, ...loads))}. Total run ${fmt(totalSeconds, 0)} s.`;
  const text = `${table}\n\n${sizes}\n\n${machine}\n${notes.length ? '\n' + notes.map((n) => `- ${n}`).join('\n') + '\n' : ''}`;
  process.stdout.write(`\n${text}`);
  await writeFile(
    path.join(BENCH_DIR, 'RESULTS.md'),
    `# Files benchmark results\n\nGenerated by \`node --import tsx bench/files/run.ts\` on ${new Date().toISOString()}.\n\n${text}`,
  );
  progress(`table written to ${path.relative(PROJECT_ROOT, path.join(BENCH_DIR, 'RESULTS.md'))}`);
}
