// The expiry sweep (private.expire_conversations) measured while one writer
// connection keeps appending and retitling as the conversations' owners: the
// sweep's rate, the writer's transactions and the lock waits Postgres logged.
import type postgres from 'postgres';
import type { Part } from '../../src/dev/stack.ts';
import { asUser } from '../../supabase/functions/_shared/db/as-user.ts';
import { fmtInt, percentile, prng, progress, sleep } from '../common.ts';
import type { LoadConversations } from './data.ts';
import { fmt, max, SIZES } from './settings.ts';
import { appendParams, Rollback, SQL_APPEND, SQL_TITLE, SQL_VISIBLE, type ClaimsOf, type Conv } from './sql.ts';

/** A lock wait Postgres logged (log_lock_waits, deadlock_timeout 10ms). */
export interface LockWait {
  /** performance.now() when the line arrived. */
  at: number;
  pid: number;
  ms: number;
  acquired: boolean;
  line: string;
}

/** Reads a lock wait from a line of the database's log ("process N still waiting for … after X ms"), or null. */
export function lockWaitFrom(part: Part, line: string): LockWait | null {
  const wait = part === 'db' ? /process (\d+) (still waiting|acquired) .* after ([\d.]+) ms/.exec(line) : null;
  return wait ? { at: performance.now(), pid: Number(wait[1]), ms: Number(wait[3]), acquired: wait[2] === 'acquired', line } : null;
}

export interface WriterTx {
  /** performance.now() at begin. */
  at: number;
  total: number;
  /** begin + set_config; the statements; commit (and its WAL flush). */
  before: number;
  statements: number;
  commit: number;
}
export interface WriterStats {
  txs: WriterTx[];
  appends: number;
  titles: number;
  errors: number;
  pids: Set<number>;
}
export const emptyWriter = (): WriterStats => ({ txs: [], appends: 0, titles: 0, errors: 0, pids: new Set() });
export const totals = (w: WriterStats) => w.txs.map((t) => t.total);
export const longestTx = (w: WriterStats) => w.txs.reduce<WriterTx | null>((m, t) => (m && m.total >= t.total ? m : t), null);

export interface SweepResult {
  expired: number;
  batches: number;
  seconds: number;
  rate: number;
  firstQuarterRate: number;
  lastQuarterRate: number;
  maxUngrantedLocks: number;
  writerLockWaits: LockWait[];
  allLockWaits: LockWait[];
  writer: WriterStats;
  baseline: WriterStats;
  /** performance.now() when the call started. */
  startedAt: number;
}

/** One sweep batch under EXPLAIN ANALYZE, as is and with messages_frozen disabled (the fastest of 3 each). */
export interface BatchDiagnosis {
  conversations: number;
  messages: number;
  asIs: { text: string; ms: number };
  withoutFrozen: { text: string; ms: number };
}

export interface Sweeps {
  /** Loads `count` expired conversations and sweeps them in `policy` mode, with or without the writer. */
  sweep(label: string, policy: 'delete' | 'archive', count: number, withWriter: boolean, diagnose?: boolean): Promise<SweepResult>;
  /** The batch diagnosis of the sweep that asked for one. */
  batchDiagnosis(): BatchDiagnosis | null;
}

export function createSweeps(options: {
  admin: postgres.Sql;
  writer: postgres.Sql;
  sweeper: postgres.Sql;
  monitor: postgres.Sql;
  claimsOf: ClaimsOf;
  live: Conv[];
  lockWaits: LockWait[];
  loadConversations: LoadConversations;
}): Sweeps {
  const { admin, writer, sweeper, monitor, claimsOf, live, lockWaits, loadConversations } = options;

  /** One connection appending messages to (and retitling) live conversations as their owners until `stop()`. */
  const writerLoop = async (stop: () => boolean, seed: number): Promise<WriterStats> => {
    const stats = emptyWriter();
    const random = prng(seed);
    const deadline = performance.now() + SIZES.stepTimeoutSeconds * 1000;
    for (let i = 0; !stop() && i < 10_000_000 && performance.now() < deadline; i++) {
      if (i % 200 === 0) stats.pids.add((await writer<{ pid: number }[]>`select pg_backend_pid() as pid`)[0]!.pid);
      const conv = live[Math.floor(random() * live.length)]!;
      const started = performance.now();
      let entered = NaN;
      let left = NaN;
      try {
        await asUser(writer, claimsOf(conv.user_id), async (tx) => {
          entered = performance.now(); // after begin and set_config
          if (i % 4 === 3) {
            await tx.unsafe(SQL_TITLE, [`Renamed ${i}`, conv.id]);
            stats.titles++;
          } else {
            await tx.unsafe(SQL_VISIBLE, [conv.id]);
            await tx.unsafe(SQL_APPEND, appendParams(conv.id, i) as never[]);
            stats.appends++;
          }
          left = performance.now(); // before commit
        });
        const end = performance.now();
        stats.txs.push({ at: started, total: end - started, before: entered - started, statements: left - entered, commit: end - left });
      } catch (error) {
        stats.errors++;
        if (stats.errors <= 3) progress(`  writer error: ${String((error as Error).message ?? error)}`);
      }
    }
    return stats;
  };


  /**
   * EXPLAIN ANALYZE of one sweep batch (the procedure's `delete … where id = any (batch)` with
   * a purge gate pass), rolled back: as is, and with messages_frozen disabled, to show what the
   * per-message trigger costs the cascade.
   */
  const diagnoseBatch = async (): Promise<BatchDiagnosis> => {
    const ids = (await admin<{ ids: string[] | null }[]>`
      select array_agg(id) as ids from (
        select c.id from public.conversations c where c.expires_at <= now() and c.deleted_at is null
         order by c.expires_at limit ${SIZES.batchSize}::int) due`)[0]!.ids ?? [];
    const messages = (await admin<{ n: number }[]>`
      select count(*)::int as n from public.messages where conversation_id = any (${`{${ids.join(',')}}`}::uuid[])`)[0]!.n;
    const explain = async (withoutFrozen: boolean) => {
      let text = '';
      await admin.begin(async (tx) => {
        if (withoutFrozen) await tx`alter table public.messages disable trigger messages_frozen`;
        await tx`select private.open_gate('delete_conversation', null)`;
        text = (await tx.unsafe<{ 'QUERY PLAN': string }[]>(
          'explain (analyze, buffers, costs off) delete from public.conversations where id = any ($1::uuid[])',
          [`{${ids.join(',')}}`],
        )).map((r) => r['QUERY PLAN']).join('\n').replace(/'\{[0-9a-f,-]{100,}\}'::uuid\[\]/g, `'{…the batch's ${ids.length} ids…}'::uuid[]`);
        throw new Rollback();
      }).catch((error) => {
        if (!(error instanceof Rollback)) throw error;
      });
      return { text, ms: Number(/Execution Time: ([\d.]+) ms/.exec(text)?.[1] ?? NaN) };
    };
    await explain(false); // warm-up
    // Alternated three times each; the fastest of each kept (the least disturbed by other load).
    const runs: Record<'asIs' | 'withoutFrozen', Array<{ text: string; ms: number }>> = { asIs: [], withoutFrozen: [] };
    for (let i = 0; i < 3; i++) {
      runs.asIs.push(await explain(false));
      runs.withoutFrozen.push(await explain(true));
    }
    const fastest = (list: Array<{ text: string; ms: number }>) => list.reduce((m, r) => (r.ms < m.ms ? r : m));
    const asIs = fastest(runs.asIs);
    const withoutFrozen = fastest(runs.withoutFrozen);
    progress(`  one batch of ${ids.length} conversations (${fmtInt(messages)} messages), fastest of 3: ${fmt(asIs.ms)} ms; without messages_frozen ${fmt(withoutFrozen.ms)} ms`);
    return { conversations: ids.length, messages, asIs, withoutFrozen };
  };
  let batchDiagnosis: BatchDiagnosis | null = null;

  const sweep = async (label: string, policy: 'delete' | 'archive', count: number, withWriter: boolean, diagnose = false): Promise<SweepResult> => {
    progress(`${label}: loading ${fmtInt(count)} expired conversations with ~${SIZES.expiredMessages} messages each`);
    await loadConversations(label, count, SIZES.expiredMessages, { expired: true });
    await admin`update private.settings set expiry_policy = ${policy}, expiry_batch_size = ${SIZES.batchSize}`;
    const due = (await admin<{ due: number }[]>`
      select count(*)::int as due from public.conversations where expires_at <= now() and deleted_at is null`)[0]!.due;
    if (due !== count) throw new Error(`${label}: expected ${count} expired conversations, found ${due}`);
    if (diagnose) batchDiagnosis = await diagnoseBatch();

    let baseline = emptyWriter();
    if (withWriter && SIZES.writerBaselineSeconds > 0) {
      const until = performance.now() + SIZES.writerBaselineSeconds * 1000;
      baseline = await writerLoop(() => performance.now() > until, 4242);
      progress(`  writer alone: ${fmtInt(baseline.txs.length)} transactions, p99 ${fmt(percentile(totals(baseline), 99))} ms, longest ${fmt(max(totals(baseline)))} ms`);
    }

    let done = false;
    const progressPoints: Array<{ t: number; expired: number }> = [];
    let maxUngrantedLocks = 0;
    const monitorLoop = (async () => {
      const deadline = performance.now() + SIZES.stepTimeoutSeconds * 1000;
      while (!done && performance.now() < deadline) {
        const [row] = await monitor<{ expired: number | null; waiting: number }[]>`
          select (select expired from private.expiry_runs where finished_at is null order by id desc limit 1) as expired,
                 (select count(*)::int from pg_locks where not granted) as waiting`;
        if (row!.expired !== null) progressPoints.push({ t: performance.now(), expired: row!.expired });
        maxUngrantedLocks = Math.max(maxUngrantedLocks, row!.waiting);
        await sleep(100);
      }
    })();
    const writing = withWriter ? writerLoop(() => done, 777) : Promise.resolve(emptyWriter());
    await sleep(withWriter ? 300 : 0); // the writer in its stride before the sweep starts
    const windowStart = performance.now();
    const started = performance.now();
    let report: { expired: number; batches: number };
    let seconds: number;
    const timeout = setTimeout(
      () => void admin`select pg_cancel_backend(pid) from pg_stat_activity where application_name = 'strata-bench-history-sweeper' and state = 'active'`.catch(() => undefined),
      SIZES.stepTimeoutSeconds * 1000,
    );
    try {
      const [row] = await sweeper.unsafe<{ report: { expired: number; batches: number } }[]>('call private.expire_conversations()');
      seconds = (performance.now() - started) / 1000;
      report = row!.report;
      await sleep(withWriter ? 300 : 0);
    } finally {
      clearTimeout(timeout);
      done = true;
    }
    const [writerAll] = await Promise.all([writing, monitorLoop]);
    // Only the transactions that overlapped the sweep's call.
    const sweepEnd = started + seconds * 1000;
    const writerStats: WriterStats = { ...writerAll, txs: writerAll.txs.filter((t) => t.at < sweepEnd && t.at + t.total > started) };
    await sleep(200); // the last log lines
    const allLockWaits = lockWaits.filter((w) => w.at >= windowStart);
    const writerLockWaits = allLockWaits.filter((w) => writerStats.pids.has(w.pid));
    const rate = report.expired / seconds;
    /** Rate over a slice of the sweep, from the progress it committed batch by batch. */
    const slice = (fromFrac: number, toFrac: number) => {
      const inRange = progressPoints.filter((p) => p.expired >= fromFrac * report.expired && p.expired <= toFrac * report.expired);
      if (inRange.length < 2) return NaN;
      const a = inRange[0]!;
      const b = inRange[inRange.length - 1]!;
      return b.t > a.t ? ((b.expired - a.expired) / (b.t - a.t)) * 1000 : NaN;
    };
    const left = (await admin<{ left: number }[]>`
      select count(*)::int as left from public.conversations where expires_at <= now() and deleted_at is null`)[0]!.left;
    if (report.expired !== count || left !== 0) throw new Error(`${label}: the sweep expired ${report.expired} of ${count}, ${left} left`);
    progress(`  ${policy} sweep: ${fmtInt(report.expired)} conversations in ${report.batches} batches, ${seconds.toFixed(2)} s → ${fmtInt(rate)}/s` +
      (withWriter ? `; writer ${fmtInt(writerStats.txs.length)} transactions, longest ${fmt(max(totals(writerStats)))} ms, lock waits ≥ 10 ms: ${writerLockWaits.length}` : ''));
    return {
      expired: report.expired,
      batches: report.batches,
      seconds,
      rate,
      firstQuarterRate: slice(0, 0.25),
      lastQuarterRate: slice(0.75, 1),
      maxUngrantedLocks,
      writerLockWaits,
      allLockWaits,
      writer: writerStats,
      baseline,
      startedAt: started,
    };
  };

  return { sweep, batchDiagnosis: () => batchDiagnosis };
}
