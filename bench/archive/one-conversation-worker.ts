// Runs Strata's archive worker code (drainJobs, unchanged) in its own Node
// process so its peak memory can be measured. Deps are built the way
// jobs/handler.ts builds them, from process.env. Run by run.ts as:
//   node --import tsx bench/archive/one-conversation-worker.ts <conversation_id> [cpu_ms]
// Without cpu_ms: one invocation with no CPU limit (the whole conversation in
// one go). With cpu_ms: one invocation with limits { cpuMs } (wall clock and
// memory from the settings, as hosted), which goes as far as its budget
// allows in the resumable multipart upload and gives the job back; run.ts
// starts one process per invocation, as a hosted instance that spent its CPU
// retires and the next wake-up lands on a fresh one.
// Prints one JSON line on stdout: the drain summary, CPU and elapsed ms,
// VmHWM of the whole process and of the drain alone, and the job's state after.
import { drainJobs, type WorkerDeps } from '../../supabase/functions/_shared/jobs/worker.ts';
import { closeBenchWorkerDeps, createBenchWorkerDeps, processCpuMs, resetPeakRss, vmKb } from './worker-deps.ts';

const conversationId = process.argv[2];
if (!conversationId) throw new Error('usage: one-conversation-worker.ts <conversation_id> [cpu_ms]');
const cpuLimit = process.argv[3] ? Number(process.argv[3]) : null;
if (cpuLimit !== null && !(cpuLimit > 0)) throw new Error('cpu_ms must be a positive number');

const deps: WorkerDeps = createBenchWorkerDeps('bench-one');
const { sql } = deps;
const mb = (kb: number | null) => (kb === null ? null : kb / 1024);

// The parent parked the job an hour ahead so no other worker takes it; make
// it due right before claiming (this process then claims it within ms).
await sql`update private.jobs set run_after = now()
           where kind = 'archive_conversation' and subject_id = ${conversationId} and status = 'pending'`;
const rssBeforeKb = vmKb('VmRSS');
// The peak of start-up (loading the modules) stays in startupHwm; VmHWM is
// then reset so that drainHwm is the drain's own peak.
const startupHwmKb = vmKb('VmHWM');
const peakReset = resetPeakRss();
// What the memory is, sampled every 50 ms during the drain (between its awaits).
const peaks = { rss: 0, heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
const sampleMemory = () => {
  const m = process.memoryUsage();
  for (const key of Object.keys(peaks) as Array<keyof typeof peaks>) peaks[key] = Math.max(peaks[key], m[key]);
};
const sampler = setInterval(sampleMemory, 50);
const cpu0 = processCpuMs();
const started = performance.now();
const summary = await drainJobs(
  deps,
  cpuLimit === null
    ? { cpuMs: Number.MAX_SAFE_INTEGER, wallMs: 3_600_000, memoryBytes: Number.MAX_SAFE_INTEGER }
    : { cpuMs: cpuLimit },
);
const elapsedMs = performance.now() - started;
const cpuMs = processCpuMs() - cpu0;
clearInterval(sampler);
sampleMemory();
const drainHwmKb = vmKb('VmHWM');
const memory = process.memoryUsage();
// Given back for the next invocation: park it again, so only the next
// measured process (not the stack's Deno worker) continues it.
const [job] = await sql<{ status: string; parts: number | null; written: number | null }[]>`
  update private.jobs set run_after = case when status = 'pending' then now() + interval '1 hour' else run_after end
   where kind = 'archive_conversation' and subject_id = ${conversationId}
  returning status, jsonb_array_length(payload -> 'multipart' -> 'parts') as parts, (payload -> 'multipart' ->> 'written')::int as written`;
await closeBenchWorkerDeps(deps);

const vmHwmKb = Math.max(startupHwmKb ?? 0, drainHwmKb ?? 0) || null;
process.stdout.write(
  JSON.stringify({
    summary,
    elapsedMs,
    cpuMs,
    vmHwmMb: mb(vmHwmKb),
    startupHwmMb: mb(startupHwmKb),
    drainHwmMb: peakReset ? mb(drainHwmKb) : null,
    rssBeforeMb: mb(rssBeforeKb),
    heapUsedMb: memory.heapUsed / 1024 / 1024,
    externalMb: memory.external / 1024 / 1024,
    arrayBuffersMb: memory.arrayBuffers / 1024 / 1024,
    /** Peaks of process.memoryUsage() during the drain, MB. */
    peaksMb: Object.fromEntries(Object.entries(peaks).map(([k, v]) => [k, v / 1024 / 1024])),
    job: job ?? null,
  }) + '\n',
);
