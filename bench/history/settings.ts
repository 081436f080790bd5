// The history benchmark's sizes (from the environment), targets, policy
// variants and number formatting.
import { formatNumber, intEnv } from '../common.ts';

export const SIZES = {
  users: intEnv('BENCH_USERS', 1000),
  /** Live conversations, spread evenly over the users. */
  conversations: intEnv('BENCH_CONVERSATIONS', 50_000),
  /** Messages in the live conversations (lengths vary from 0.25× to 1.75× the mean). */
  messages: intEnv('BENCH_MESSAGES', 1_000_000),
  /** Timed samples per metric and per policy variant, split over the rounds. */
  samples: intEnv('BENCH_SAMPLES', 1000),
  /** Untimed warm-up requests per metric, per variant and per round. */
  warmup: intEnv('BENCH_WARMUP', 50, 0),
  /** Rounds alternating the variants (A B B A …), so load drift on a shared machine hits both alike. */
  rounds: intEnv('BENCH_ROUNDS', 4),
  /** Expired conversations per delete-mode sweep (one sweep per policy variant). */
  expired: intEnv('BENCH_EXPIRED', 100_000),
  /** Messages in each expired conversation on average (they cascade when it is purged); default: the live mean. */
  expiredMessages: 0,
  /** private.settings.expiry_batch_size for the sweeps. */
  batchSize: intEnv('BENCH_EXPIRY_BATCH', 1000),
  /** Expired conversations for the one archive-mode sweep (0: skip it). */
  archiveExpired: intEnv('BENCH_ARCHIVE_EXPIRED', 10_000, 0),
  /** Seconds the writer runs alone before each sweep, for its baseline latency. */
  writerBaselineSeconds: intEnv('BENCH_WRITER_BASELINE_SECONDS', 5, 0),
  /** Extra: one more user with this many conversations of BENCH_HEAVY_MESSAGES messages each (0: skip). */
  heavyConversations: intEnv('BENCH_HEAVY_CONVERSATIONS', 20, 0),
  heavyMessages: intEnv('BENCH_HEAVY_MESSAGES', 1000),
  heavySamples: intEnv('BENCH_HEAVY_SAMPLES', 100),
  /** Upper bound on any one sweep or measuring loop. */
  stepTimeoutSeconds: intEnv('BENCH_STEP_TIMEOUT_SECONDS', 240),
};
SIZES.expiredMessages = intEnv('BENCH_EXPIRED_MESSAGES', Math.max(1, Math.round(SIZES.messages / SIZES.conversations)), 0);
/** The sizes: a run with other sizes says it was scaled down. */
export const FULL = { users: 1000, conversations: 50_000, messages: 1_000_000, expired: 100_000 } as const;
export const TARGETS = { historyP99: 2, listingP99: 5, sweepRate: 5000, writerMax: 100 };

/** The policies as migrated (`(select auth.uid())`), or rewritten to a bare `auth.uid()`. */
export type Variant = 'select' | 'bare';
export const VARIANTS: Variant[] = ['select', 'bare'];
export const VARIANT_LABEL: Record<Variant, string> = { select: '(select auth.uid())', bare: 'bare auth.uid()' };

export const max = (values: number[]) => (values.length ? values.reduce((m, v) => (v > m ? v : m), -Infinity) : NaN);
export const fmt = (n: number, digits = 2) => formatNumber(n, digits);
