// The budget of one worker invocation. On Supabase an Edge Function instance
// has about 1 s of CPU (soft: it retires; 2 s hard: killed), counted across
// its requests and background work, 256 MB of memory (it retires at half),
// and a 150-400 s wall clock. A worker stops claiming before any of these is
// near, finishes what it holds, and leaves the rest to the next wake-up. It
// also stops at once when the runtime says the instance is about to go
// (beforeunload): stop('unload').
import process from 'node:process';

export interface BudgetLimits {
  /** CPU milliseconds this invocation may use (process CPU, user + system). */
  cpuMs: number;
  /** Wall-clock milliseconds this invocation keeps claiming. */
  wallMs: number;
  /** Stop claiming above this heap + external memory. */
  memoryBytes: number;
}

export type StopReason = 'cpu' | 'wall' | 'memory' | 'unload';

export interface Budget {
  /** Whether work estimated at `cpuMs` more (on top of what is in flight) still fits. */
  fits(cpuMs: number): boolean;
  /** Spends the budget now: nothing more fits (the first reason is kept). */
  stop(reason: StopReason): void;
  /** Why claiming stopped, once it has: 'cpu', 'wall', 'memory', or 'unload' (the instance is about to be stopped). */
  readonly stoppedBy: StopReason | null;
  /** CPU milliseconds used so far. */
  cpuUsedMs(): number;
  /** Highest heap + external memory seen, in bytes. */
  peakMemoryBytes(): number;
}

const cpuNowMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};
const memoryNow = () => {
  const { heapUsed, external } = process.memoryUsage();
  return heapUsed + external;
};

export function startBudget(limits: BudgetLimits): Budget {
  const cpuStart = cpuNowMs();
  const wallEnd = Date.now() + limits.wallMs;
  let peak = memoryNow();
  let stoppedBy: Budget['stoppedBy'] = null;
  return {
    fits(cpuMs) {
      if (stoppedBy) return false;
      const memory = memoryNow();
      peak = Math.max(peak, memory);
      if (cpuNowMs() - cpuStart + cpuMs > limits.cpuMs) stoppedBy = 'cpu';
      else if (Date.now() >= wallEnd) stoppedBy = 'wall';
      else if (memory >= limits.memoryBytes) stoppedBy = 'memory';
      return stoppedBy === null;
    },
    stop(reason) {
      stoppedBy ??= reason;
    },
    get stoppedBy() {
      return stoppedBy;
    },
    cpuUsedMs: () => cpuNowMs() - cpuStart,
    peakMemoryBytes: () => (peak = Math.max(peak, memoryNow())),
  };
}
