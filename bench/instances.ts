// The local Edge Runtime's function instances during a benchmark phase: one
// Deno process per instance (src/dev/edge-runtime/), each retiring at a soft
// limit and killed at a hard one. The supervisor lists them
// (`stack.parts.functions.instances()`: live ones and the last 200 that
// exited); a watch samples that list and each live instance's /proc every
// few tens of milliseconds, so every instance of the phase is seen with its
// peak resident memory (VmHWM), its CPU (the main thread, what the hosted
// limit counts, and the whole process), why it retired and how it ended.
// The runtime's HTTP server runs in the benchmark's process: its 546 answers
// (a request cut off by a limit) are counted through node:diagnostics_channel.
import diagnostics from 'node:diagnostics_channel';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ExitReason, InstanceInfo, Limit } from '../src/dev/edge-runtime/instance.ts';
import type { FunctionsHandle } from '../src/dev/functions.ts';
import { fmtInt, formatNumber, percentile } from './common.ts';
import { readProcessCpuMs, readStatus, resetPeak } from './proc.ts';

const LIMITS: Limit[] = ['cpu', 'memory', 'wall_clock'];
const isLimit = (reason: ExitReason | undefined): reason is Limit => LIMITS.includes(reason as Limit);

export interface WatchedInstance {
  id: string;
  function: string;
  pid: number;
  /** Already running when the watch began (its counters are taken from then). */
  preexisting: boolean;
  /** The supervisor's latest view of it. */
  info: InstanceInfo;
  /** Main-thread CPU (the hosted limit's measure) during the watch, ms. */
  cpuMs: number;
  /** Whole-process CPU (every thread, V8's GC and compiler threads too) during the watch, ms. */
  processCpuMs: number;
  /** Highest VmHWM read while it lived, kB (reset at the start for a pre-existing instance); NaN if never read. */
  hwmKb: number;
  /** Highest heap + external the supervisor saw, bytes (what the 256 MB limit counts; over its whole life). */
  peakHeapBytes: number;
}

export interface InstanceReport {
  name: string;
  instances: WatchedInstance[];
  /** Instances booted during the watch. */
  booted: number;
  retiredBy: Record<Limit, number>;
  /** Ended at a hard limit (SIGKILL by the supervisor): never in a healthy run. */
  killedBy: Record<Limit, number>;
  /** Every way an instance ended during the watch. */
  exits: Partial<Record<ExitReason, number>>;
  /** Answers with status 546 (cut off by a limit), and other 5xx, from the runtime. */
  status546: number;
  other5xx: number;
  /** The VmHWM resets of pre-existing instances worked (else their peak includes what came before). */
  resetsOk: boolean;
  cpuMs: number;
  processCpuMs: number;
}

export interface InstanceWatch {
  /** A sample now (the watch also samples on its own). */
  sample(): void;
  /** Stops sampling (after a last sample) and reports. */
  stop(): InstanceReport;
}

/** 5xx answers of the runtime's server (on its port), for every watch running. */
const answerListeners = new Set<(status: number) => void>();
let subscribed = false;
let runtimePort = -1;
function listenForAnswers(port: number): void {
  runtimePort = port;
  if (subscribed) return;
  subscribed = true;
  diagnostics.subscribe('http.server.response.finish', (message) => {
    const { request, response } = message as { request: IncomingMessage; response: ServerResponse };
    if (request.socket?.localPort !== runtimePort || response.statusCode < 500) return;
    for (const listener of answerListeners) listener(response.statusCode);
  });
}

/**
 * Watches the instances of one function (or all with name '*') from now on:
 * the live ones (their CPU counted from now, their VmHWM reset now) and every
 * one booted until stop().
 */
export function watchInstances(functions: FunctionsHandle, name: string, sampleMs = 50): InstanceWatch {
  listenForAnswers(functions.port);
  const list = () => functions.instances(name === '*' ? undefined : name);
  const seen = new Map<string, WatchedInstance & { cpu0: number; processCpu0: number }>();
  const exitedBefore = new Set(list().filter((i) => i.state === 'exited').map((i) => i.id));
  let resetsOk = true;
  let status546 = 0;
  let other5xx = 0;
  const onAnswer = (status: number) => (status === 546 ? status546++ : other5xx++);
  answerListeners.add(onAnswer);

  for (const info of list()) {
    if (info.state === 'exited') continue;
    const reset = resetPeak(info.pid);
    resetsOk &&= reset.ok;
    seen.set(info.id, {
      id: info.id, function: info.function, pid: info.pid, preexisting: true, info,
      cpu0: info.cpuMs, processCpu0: readProcessCpuMs(info.pid) || info.processCpuMs,
      cpuMs: 0, processCpuMs: 0, hwmKb: reset.after?.hwmKb ?? NaN, peakHeapBytes: info.peakMemoryBytes,
    });
  }

  const sample = () => {
    for (const info of list()) {
      if (exitedBefore.has(info.id)) continue;
      let entry = seen.get(info.id);
      if (!entry) {
        entry = {
          id: info.id, function: info.function, pid: info.pid, preexisting: false, info,
          cpu0: 0, processCpu0: 0, cpuMs: 0, processCpuMs: 0, hwmKb: NaN, peakHeapBytes: 0,
        };
        seen.set(info.id, entry);
      }
      entry.info = info;
      entry.pid = info.pid;
      if (info.state !== 'exited') {
        const status = readStatus(info.pid);
        if (status) entry.hwmKb = Number.isNaN(entry.hwmKb) ? status.hwmKb : Math.max(entry.hwmKb, status.hwmKb);
        const cpu = readProcessCpuMs(info.pid);
        if (Number.isFinite(cpu)) entry.processCpuMs = cpu - entry.processCpu0;
      } else {
        // Gone: the supervisor's last reading (every 50 ms) is the best there is.
        entry.processCpuMs = Math.max(entry.processCpuMs, info.processCpuMs - entry.processCpu0);
      }
      entry.cpuMs = info.cpuMs - entry.cpu0;
      entry.peakHeapBytes = Math.max(entry.peakHeapBytes, info.peakMemoryBytes);
    }
  };
  const timer = setInterval(sample, sampleMs);
  timer.unref();

  return {
    sample,
    stop() {
      sample();
      clearInterval(timer);
      answerListeners.delete(onAnswer);
      const instances = [...seen.values()].map(({ cpu0: _c, processCpu0: _p, ...rest }) => rest);
      const count = (pick: (i: WatchedInstance) => boolean) => instances.filter(pick).length;
      const exits: InstanceReport['exits'] = {};
      for (const i of instances) if (i.info.exit) exits[i.info.exit.reason] = (exits[i.info.exit.reason] ?? 0) + 1;
      return {
        name,
        instances,
        booted: count((i) => !i.preexisting),
        retiredBy: Object.fromEntries(LIMITS.map((l) => [l, count((i) => i.info.retiredBy === l)])) as Record<Limit, number>,
        killedBy: Object.fromEntries(LIMITS.map((l) => [l, count((i) => i.info.exit?.reason === l)])) as Record<Limit, number>,
        exits,
        status546,
        other5xx,
        resetsOk,
        cpuMs: instances.reduce((a, i) => a + i.cpuMs, 0),
        processCpuMs: instances.reduce((a, i) => a + i.processCpuMs, 0),
      };
    },
  };
}

const MiB = 1024;
export const killedCount = (r: InstanceReport) => LIMITS.reduce((a, l) => a + r.killedBy[l], 0);

/** Instances killed at a hard limit or requests answered 546: what a healthy run never shows. */
export function unhealthy(r: InstanceReport): string | null {
  const killed = killedCount(r);
  if (killed === 0 && r.status546 === 0) return null;
  return `${r.name}: ${killed} instance(s) killed at a hard limit (${LIMITS.filter((l) => r.killedBy[l]).map((l) => `${l} ${r.killedBy[l]}`).join(', ') || 'none'}), ${r.status546} request(s) answered 546`;
}

/** "3 instances (2 booted) · retired by cpu 2 · killed: none · 546: 0", for a table cell. */
export function describeLifecycle(r: InstanceReport): string {
  const retired = LIMITS.filter((l) => r.retiredBy[l]).map((l) => `${l} ${r.retiredBy[l]}`).join(', ') || 'none';
  const killed = LIMITS.filter((l) => r.killedBy[l]).map((l) => `${l} ${r.killedBy[l]}`).join(', ') || 'none';
  const ends = Object.entries(r.exits).map(([reason, n]) => `${reason} ${n}`).join(', ') || 'none yet';
  return `${r.instances.length} instance(s) of ${r.name} (${r.booted} booted); retired by ${retired}; killed at a hard limit: ${killed}; ended: ${ends}; 546 answers: ${r.status546}${r.other5xx ? `, other 5xx: ${r.other5xx}` : ''}`;
}

/** Per-instance peak and CPU: "VmHWM max 142.0 MiB (p50 120.3) · heap + external max 61 MB · main-thread CPU per instance p50 / max 812 / 1,020 ms". */
export function describeUsage(r: InstanceReport): string {
  const hwm = r.instances.map((i) => i.hwmKb / MiB).filter(Number.isFinite);
  if (hwm.length === 0) hwm.push(NaN);
  const cpu = r.instances.map((i) => i.cpuMs);
  return (
    `VmHWM per instance max ${formatNumber(Math.max(...hwm), 1)} MiB (p50 ${formatNumber(percentile(hwm, 50), 1)}${r.resetsOk ? '' : '; a reset failed'}); ` +
    `heap + external max ${formatNumber(Math.max(0, ...r.instances.map((i) => i.peakHeapBytes)) / 1048576, 1)} MB; ` +
    `main-thread CPU per instance p50 / max ${fmtInt(percentile(cpu, 50))} / ${fmtInt(Math.max(0, ...cpu))} ms (whole process, all threads: ${fmtInt(r.processCpuMs)} ms in all)`
  );
}

/** The highest VmHWM of any instance, kB (NaN when none was read). */
export function peakHwmKb(r: InstanceReport): number {
  const values = r.instances.map((i) => i.hwmKb).filter(Number.isFinite);
  return values.length ? Math.max(...values) : NaN;
}
