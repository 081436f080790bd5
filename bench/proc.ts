// Every /proc reading the benchmarks take (Linux): a process's resident
// memory and its peak (VmRSS, VmHWM) with the peak's reset, its CPU, and the
// machine's load averages. A process is a pid (a function instance) or
// 'self' (a measured worker process reading itself).
import { readFileSync, writeFileSync } from 'node:fs';
import { readProcessCpuMs as readCpu } from '../src/dev/edge-runtime/proc.ts';

export type Pid = number | 'self';

export interface ProcStatus {
  rssKb: number;
  hwmKb: number;
}

/** VmRSS and VmHWM from /proc/<pid>/status; null once the process is gone. */
export function readStatus(pid: Pid): ProcStatus | null {
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

/** User + system CPU of the whole process (every thread), in ms; NaN once it is gone. */
export function readProcessCpuMs(pid: Pid): number {
  if (pid === 'self') {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1000;
  }
  return readCpu(pid) ?? NaN;
}

export interface PeakReset {
  ok: boolean;
  before: ProcStatus | null;
  after: ProcStatus | null;
  error?: string;
}

/**
 * Resets VmHWM to the current RSS (writing "5" to clear_refs, Linux ≥ 4.0)
 * and checks that it took: afterwards VmHWM must be close to VmRSS.
 */
export function resetPeak(pid: Pid): PeakReset {
  const before = readStatus(pid);
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch (error) {
    return { ok: false, before, after: readStatus(pid), error: (error as Error).message };
  }
  const after = readStatus(pid);
  return { ok: Boolean(after && after.hwmKb <= after.rssKb + 2048), before, after };
}

/** The 1-, 5- and 15-minute load averages, from /proc/loadavg. */
export function readLoadavg(): [number, number, number] {
  const [a, b, c] = readFileSync('/proc/loadavg', 'utf8').split(' ').map(Number);
  return [a!, b!, c!];
}
