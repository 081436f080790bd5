// /proc readings: another process's CPU (the stack's Deno functions process)
// and the machine's load averages.
import { readFileSync } from 'node:fs';

/** User + system CPU of the whole process (all threads), in ms; NaN when it cannot be read. */
export function readProcessCpuMs(pid: number): number {
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

/** The 1-, 5- and 15-minute load averages, from /proc/loadavg. */
export function readLoadavg(): [number, number, number] {
  const [a, b, c] = readFileSync('/proc/loadavg', 'utf8').split(' ').map(Number);
  return [a!, b!, c!];
}
