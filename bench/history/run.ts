// History benchmark: starts its own isolated Strata stack (temporary state
// directory, free ports, random JWT secret), loads users, conversations and
// messages with generate_series, then measures, through the same RLS-enforced
// SQL the `conversations` function runs as the user:
//   - reading the last 10 messages, listing the 20 most recent conversations
//     and appending a message (database time from EXPLAIN ANALYZE, and the
//     client's round trip of the whole transaction);
//   - the expiry sweep (private.expire_conversations, 'delete' mode) and the
//     longest a concurrent writer waited while it ran;
// with the policies as migrated (`(select auth.uid())`) and with them
// rewritten to a bare `auth.uid()`, side by side. Prints one markdown table
// (also written to bench/history/RESULTS.md) and stops the stack.
// Run: node --import tsx bench/history/run.ts
//
// settings.ts holds the sizes, sql.ts the SQL copied from the function,
// data.ts the loading, policies.ts the two variants, latency.ts the read and
// append measurements, sweep.ts the expiry sweep with its writer, report.ts
// the table.
import { loadavg } from 'node:os';
import { progress } from '../common.ts';
import { startBenchStack } from '../stack.ts';
import { seed } from './data.ts';
import { createLatency } from './latency.ts';
import { createPolicySwitch } from './policies.ts';
import { writeReport } from './report.ts';
import { SIZES, VARIANTS, type Variant } from './settings.ts';
import { checkSqlMatchesFunction, claimsFor } from './sql.ts';
import { createSweeps, lockWaitFrom, type LockWait, type SweepResult } from './sweep.ts';

const loads: Array<{ at: number; load: number }> = [{ at: 0, load: loadavg()[0]! }];
const loadSampler = setInterval(() => loads.push({ at: performance.now(), load: loadavg()[0]! }), 5000);
loadSampler.unref();

const notes: string[] = [];
const drift = checkSqlMatchesFunction();
if (drift.length) {
  notes.push(`⚠️ Parts of the SQL copied from supabase/functions/_shared/conversations/api.ts were not found there any more (the function's SQL changed; update this bench): ${drift.map((m) => `\`${m}\``).join('; ')}`);
  progress(`WARNING: SQL drifted from api.ts: ${drift.join(' | ')}`);
}

/** Lock waits Postgres logged (log_lock_waits, deadlock_timeout 10ms). */
const lockWaits: LockWait[] = [];
const bench = await startBenchStack({
  name: 'history',
  onLog: (part, line) => {
    const wait = lockWaitFrom(part, line);
    if (wait) lockWaits.push(wait);
  },
});

try {
  const dbUrl = bench.info.dbUrl;
  progress(`stack up: db ${dbUrl.replace(/\/\/[^@]*@/, '//')}`);

  // prepare: false, like the functions' pool (supabase/functions/_shared/db/client.ts).
  const options = (name: string, maxConnections = 1) =>
    ({ max: maxConnections, prepare: false, connection: { application_name: `strata-bench-history-${name}` } });
  const open = (name: string, maxConnections = 1) => bench.postgres(options(name, maxConnections));
  // The harness's own set-up (ALTER SYSTEM, bulk loads, policy switches) as the
  // superuser; everything measured runs as postgres, as the functions do.
  const admin = bench.adminPostgres(options('admin', 2));
  const user = open('user');
  const writer = open('writer');
  const sweeper = open('sweeper');
  const monitor = open('monitor');

  const version = (await admin<{ version: string }[]>`select current_setting('server_version') as version`)[0]!.version;
  // The bench calls the sweep itself: keep the dev scheduler's hourly run from racing it.
  await admin`delete from private.scheduled_jobs where name = 'strata-expire-conversations'`;
  // Every lock wait over 10 ms is logged, with how long it lasted.
  await admin.unsafe(`alter system set log_lock_waits = on`);
  await admin.unsafe(`alter system set deadlock_timeout = '10ms'`);
  await admin`select pg_reload_conf()`;

  const claimsOf = claimsFor(bench.info.apiUrl);
  const seeded = await seed(admin);
  const { live, heavy } = seeded;
  const policies = await createPolicySwitch(admin);
  const latency = createLatency({ user, claimsOf, live, heavy });
  const { sweep, batchDiagnosis } = createSweeps({ admin, writer, sweeper, monitor, claimsOf, live, lockWaits, loadConversations: seeded.loadConversations });

  // ------------------------------------------------------------ run

  const planConv = live[Math.floor(live.length / 3)]!;
  const phases = { latency: [performance.now(), NaN], sweeps: [NaN, NaN] };
  for (let round = 0; round < SIZES.rounds; round++) {
    for (const variant of round % 2 === 0 ? VARIANTS : [...VARIANTS].reverse()) {
      await policies.setPolicies(variant);
      if (round === 0) await latency.capturePlans(variant, planConv, heavy[0]);
      await latency.measureRound(variant, round);
    }
  }
  phases.latency[1] = performance.now();
  phases.sweeps[0] = performance.now();
  const sweeps = {} as Record<Variant, SweepResult>;
  for (const variant of VARIANTS) {
    await policies.setPolicies(variant);
    sweeps[variant] = await sweep(`expired-${variant}`, 'delete', SIZES.expired, true, variant === 'select');
  }
  phases.sweeps[1] = performance.now();
  progress('restoring the policies as migrated');
  await policies.setPolicies('select');

  let archiveSweep: SweepResult | null = null;
  if (SIZES.archiveExpired > 0) archiveSweep = await sweep('expired-archive', 'archive', SIZES.archiveExpired, false);

  await writeReport({ seeded, policies, latency, sweeps, archiveSweep, batchDiagnosis: batchDiagnosis(), version, phases, loads, notes });
} catch (error) {
  bench.fail('bench/history failed', error);
} finally {
  clearInterval(loadSampler);
  await bench.shutdown();
}
