// The read and append latencies: history (GET /:id), listing (GET /) and
// append (POST /:id/messages), each run as its owner the way the function
// runs it (asUser, the exact SQL of api.ts), timed as database time under
// EXPLAIN ANALYZE and as the client's round trip, in rounds per variant.
import type postgres from 'postgres';
import { asUser, type Tx } from '../../supabase/functions/_shared/db/as-user.ts';
import { fmtInt, percentile, prng, progress } from '../common.ts';
import { fmt, SIZES, VARIANT_LABEL, type Variant } from './settings.ts';
import {
  appendParams,
  HISTORY_LIMIT,
  HISTORY_MODE,
  LIST_LIMIT,
  Rollback,
  SQL_APPEND,
  SQL_HISTORY,
  SQL_LIST,
  SQL_VISIBLE,
  type ClaimsOf,
  type Conv,
} from './sql.ts';

type Kind = 'history' | 'listing' | 'append';
export type Series = 'history' | 'listing' | 'append' | 'heavyHistory' | 'heavyListing';
export interface LatencyResult {
  db: Record<Series, number[]>;
  rtt: Record<Series, number[]>;
}

export interface Latency {
  /** Samples in ms per variant, mode (db: EXPLAIN ANALYZE, rtt: client round trip) and series. */
  latency: Record<Variant, LatencyResult>;
  /** Timed samples per live series and per heavy series in each round. */
  perRound: number;
  heavyPerRound: number;
  /** Text plans captured by capturePlans, for RESULTS.md. */
  plans: string[];
  capturePlans(variant: Variant, conv: Conv, heavyConv: Conv | undefined): Promise<void>;
  measureRound(variant: Variant, round: number): Promise<void>;
}

export function createLatency(options: { user: postgres.Sql; claimsOf: ClaimsOf; live: Conv[]; heavy: Conv[] }): Latency {
  const { user, claimsOf, live, heavy } = options;
  const plans: string[] = [];

  type Explain = [{ 'Planning Time': number; 'Execution Time': number }];
  /** Runs the statement under EXPLAIN (ANALYZE) and returns planning + execution time in ms. */
  const explainMs = async (tx: Tx, text: string, params: unknown[]) => {
    const [row] = await tx.unsafe<{ 'QUERY PLAN': Explain }[]>(`explain (analyze, timing off, format json) ${text}`, params as never[]);
    const plan = row!['QUERY PLAN'][0];
    return plan['Planning Time'] + plan['Execution Time'];
  };
  const plain = async (tx: Tx, text: string, params: unknown[]) => {
    await tx.unsafe(text, params as never[]);
    return 0;
  };

  /** One request as its owner, as api.ts runs it; returns the summed database time under EXPLAIN, else 0. */
  const request = (kind: Kind, conv: Conv, explain: boolean, i: number): Promise<number> => {
    const exec = explain ? explainMs : plain;
    const claims = claimsOf(conv.user_id);
    if (kind === 'history') {
      return asUser(user, claims, async (tx) => (await exec(tx, SQL_VISIBLE, [conv.id])) + (await exec(tx, SQL_HISTORY, [conv.id, HISTORY_LIMIT])), HISTORY_MODE);
    }
    if (kind === 'listing') return asUser(user, claims, (tx) => exec(tx, SQL_LIST, [LIST_LIMIT]));
    return asUser(user, claims, async (tx) => (await exec(tx, SQL_VISIBLE, [conv.id])) + (await exec(tx, SQL_APPEND, appendParams(conv.id, i))));
  };

  /** Text plans (EXPLAIN ANALYZE, BUFFERS) of one request of each kind, for RESULTS.md. */
  const capturePlans = async (variant: Variant, conv: Conv, heavyConv: Conv | undefined) => {
    const text = async (tx: Tx, sql: string, params: unknown[]) =>
      (await tx.unsafe<{ 'QUERY PLAN': string }[]>(`explain (analyze, buffers, costs off) ${sql}`, params as never[])).map((r) => r['QUERY PLAN']).join('\n');
    const claims = claimsOf(conv.user_id);
    const sections: string[] = [];
    sections.push(`history, messages select:\n\n\`\`\`\n${await asUser(user, claims, (tx) => text(tx, SQL_HISTORY, [conv.id, HISTORY_LIMIT]), HISTORY_MODE)}\n\`\`\``);
    sections.push(`listing:\n\n\`\`\`\n${await asUser(user, claims, (tx) => text(tx, SQL_LIST, [LIST_LIMIT]))}\n\`\`\``);
    let append = '';
    await asUser(user, claims, async (tx) => {
      append = await text(tx, SQL_APPEND, appendParams(conv.id, -1));
      throw new Rollback(); // the plan without keeping the message
    }).catch((error) => {
      if (!(error instanceof Rollback)) throw error;
    });
    sections.push(`append, insert (rolled back):\n\n\`\`\`\n${append}\n\`\`\``);
    if (heavyConv) {
      const heavyClaims = claimsOf(heavyConv.user_id);
      sections.push(`heavy user: history, messages select (${fmtInt(SIZES.heavyMessages)} messages):\n\n\`\`\`\n${await asUser(user, heavyClaims, (tx) => text(tx, SQL_HISTORY, [heavyConv.id, HISTORY_LIMIT]), HISTORY_MODE)}\n\`\`\``);
      sections.push(`heavy user: listing:\n\n\`\`\`\n${await asUser(user, heavyClaims, (tx) => text(tx, SQL_LIST, [LIST_LIMIT]))}\n\`\`\``);
    }
    plans.push(`### ${variant === 'select' ? 'with `(select auth.uid())`' : 'with bare `auth.uid()`'}\n\n${sections.join('\n\n')}`);
  };

  const emptySeries = (): Record<Series, number[]> => ({ history: [], listing: [], append: [], heavyHistory: [], heavyListing: [] });
  const latency: Record<Variant, LatencyResult> = {
    select: { db: emptySeries(), rtt: emptySeries() },
    bare: { db: emptySeries(), rtt: emptySeries() },
  };
  const perRound = Math.ceil(SIZES.samples / SIZES.rounds);
  const heavyPerRound = Math.ceil(SIZES.heavySamples / SIZES.rounds);

  /** One round of one variant: warm-up, then timed samples of every series, in both modes. */
  const measureRound = async (variant: Variant, round: number) => {
    const result = latency[variant];
    const deadline = performance.now() + SIZES.stepTimeoutSeconds * 1000;
    const series: Array<{ name: Series; kind: Kind; picks: Conv[]; count: number; modes: boolean[] }> = [
      { name: 'history', kind: 'history', picks: live, count: perRound, modes: [true, false] },
      { name: 'listing', kind: 'listing', picks: live, count: perRound, modes: [true, false] },
      { name: 'append', kind: 'append', picks: live, count: perRound, modes: [true, false] },
      ...(heavy.length
        ? [
            { name: 'heavyHistory' as const, kind: 'history' as const, picks: heavy, count: heavyPerRound, modes: [true] },
            { name: 'heavyListing' as const, kind: 'listing' as const, picks: heavy, count: heavyPerRound, modes: [true] },
          ]
        : []),
    ];
    for (const s of series) {
      for (const explain of s.modes) {
        // The same seed per series, mode and round in both variants: the same owners and conversations, in the same order.
        const random = prng(1 + round * 101 + s.name.length * 7919 + (explain ? 0 : 50_000));
        const warmup = s.picks === heavy ? Math.min(SIZES.warmup, 5) : SIZES.warmup;
        for (let i = 0; i < warmup + s.count; i++) {
          if (performance.now() > deadline) throw new Error(`a measuring round (${variant}) took longer than ${SIZES.stepTimeoutSeconds} s`);
          const conv = s.picks[Math.floor(random() * s.picks.length)]!;
          const started = performance.now();
          const db = await request(s.kind, conv, explain, i);
          const elapsed = performance.now() - started;
          if (i < warmup) continue;
          (explain ? result.db : result.rtt)[s.name].push(explain ? db : elapsed);
        }
      }
    }
    progress(`  round ${round + 1}/${SIZES.rounds} ${VARIANT_LABEL[variant]}: database p99 history ${fmt(percentile(result.db.history, 99))} ms, listing ${fmt(percentile(result.db.listing, 99))} ms, append ${fmt(percentile(result.db.append, 99))} ms (so far)`);
  };

  return { latency, perRound, heavyPerRound, plans, capturePlans, measureRound };
}
