// The limits of one function instance, as Supabase's Edge Runtime sets them
// (per instance, counted from when it is ready to serve):
// - CPU: soft 1 s (the instance retires: no new requests, a fresh instance
//   takes the next one), hard 2 s (killed; requests in flight get 546);
// - memory (heap + external): 256 MB (killed, 546); it retires at half;
// - wall clock: 150 s (400 s on paid plans); it retires at half;
// - `beforeunload` at 90 % of any of them.
// 0 turns a limit off (e.g. for a benchmark that measures one long-lived process).

export interface EdgeLimits {
  cpuSoftMs: number;
  cpuHardMs: number;
  memoryMb: number;
  wallSeconds: number;
  /** Percent of a hard limit (CPU, memory, wall clock) at which `beforeunload` is dispatched. */
  beforeunloadPct: number;
}

export const HOSTED_LIMITS: EdgeLimits = Object.freeze({
  cpuSoftMs: 1000,
  cpuHardMs: 2000,
  memoryMb: 256,
  wallSeconds: 150,
  beforeunloadPct: 90,
});

export class EdgeLimitsError extends Error {
  override readonly name = 'EdgeLimitsError' as const;
}

/** The limits from STRATA_EDGE_* settings, the hosted ones by default; throws EdgeLimitsError on a bad value. */
export function readEdgeLimits(settings: Record<string, string | undefined>): EdgeLimits {
  const env = (name: string) => ({ name, raw: settings[name]?.trim() });
  const read = ({ name, raw }: { name: string; raw: string | undefined }, fallback: number, max: number) => {
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 0 || value > max) {
      throw new EdgeLimitsError(`${name} must be a whole number from 0 (off) to ${max}, not "${raw}".`);
    }
    return value;
  };
  const limits: EdgeLimits = {
    cpuSoftMs: read(env('STRATA_EDGE_CPU_SOFT_MS'), HOSTED_LIMITS.cpuSoftMs, 3_600_000),
    cpuHardMs: read(env('STRATA_EDGE_CPU_HARD_MS'), HOSTED_LIMITS.cpuHardMs, 3_600_000),
    memoryMb: read(env('STRATA_EDGE_MEMORY_MB'), HOSTED_LIMITS.memoryMb, 16_384),
    wallSeconds: read(env('STRATA_EDGE_WALL_SECONDS'), HOSTED_LIMITS.wallSeconds, 400),
    beforeunloadPct: read(env('STRATA_EDGE_BEFOREUNLOAD_PCT'), HOSTED_LIMITS.beforeunloadPct, 99),
  };
  if (limits.cpuSoftMs > 0 && limits.cpuHardMs > 0 && limits.cpuSoftMs > limits.cpuHardMs) {
    throw new EdgeLimitsError(`STRATA_EDGE_CPU_SOFT_MS (${limits.cpuSoftMs}) must not exceed STRATA_EDGE_CPU_HARD_MS (${limits.cpuHardMs}).`);
  }
  return limits;
}

export function describeLimits(limits: EdgeLimits): string {
  const off = (value: number, text: string) => (value > 0 ? text : 'off');
  return [
    `CPU soft ${off(limits.cpuSoftMs, `${limits.cpuSoftMs} ms`)} / hard ${off(limits.cpuHardMs, `${limits.cpuHardMs} ms`)}`,
    `memory ${off(limits.memoryMb, `${limits.memoryMb} MB`)}`,
    `wall clock ${off(limits.wallSeconds, `${limits.wallSeconds} s`)}`,
    `beforeunload at ${limits.beforeunloadPct} %`,
  ].join(', ');
}
