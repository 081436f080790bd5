// What the supervisor reads about an instance from outside it, in /proc
// (Linux), without costing the instance any CPU.
import { readFileSync } from 'node:fs';

const PAGE_BYTES = 4096;
const TICK_NS = 1e7; // USER_HZ = 100

/**
 * CPU time of the instance's main thread (where Deno runs the isolate, its
 * event loop and synchronous ops) in nanoseconds: the time Supabase's CPU
 * timer counts. V8's helper threads (concurrent GC, compilation) and Deno's
 * blocking pool are not counted, as on Supabase. Null once the process is gone.
 */
export function readMainThreadCpuNs(pid: number): number | null {
  try {
    // schedstat: time on CPU in ns, time waiting, timeslices.
    return Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'latin1').split(' ')[0]);
  } catch {
    try {
      // Without schedstats: utime + stime in clock ticks (10 ms).
      const fields = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'latin1').split(') ')[1]!.split(' ');
      return (Number(fields[11]) + Number(fields[12])) * TICK_NS;
    } catch {
      return null;
    }
  }
}

/** CPU time of the whole process (every thread), in ms, for reports. Null once it is gone. */
export function readProcessCpuMs(pid: number): number | null {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * TICK_NS) / 1e6;
  } catch {
    return null;
  }
}

/** Resident anonymous memory (resident minus file-backed and shared pages), in bytes. Null once gone. */
export function readAnonymousRss(pid: number): number | null {
  try {
    const [, resident, shared] = readFileSync(`/proc/${pid}/statm`, 'latin1').split(' ').map(Number);
    return (resident! - shared!) * PAGE_BYTES;
  } catch {
    return null;
  }
}
