// strata expire: runs the expiry sweep now (it also runs hourly), with the
// deployment's policy, shows its batches as they commit, and prints what it did.
import postgres from 'postgres';
import { checkArgs } from '../args.ts';
import { printFields, printJson, type ParsedArgs } from '../output.ts';
import { progress } from '../progress.ts';
import { announceTarget, resolveTarget } from '../target.ts';

export const EXPIRE_USAGE = `Usage:
  strata expire [--json]   Run the expiry sweep now (archive or delete, per private.settings), showing its batches`;

/** How often the second connection reads the run's row while the sweep runs. */
const POLL_MS = 500;

export async function expireCommand(args: ParsedArgs): Promise<number> {
  checkArgs(args, EXPIRE_USAGE, { flags: ['json'] });
  const json = args.flags.has('json');
  const { env, summary: target } = await resolveTarget();
  announceTarget(target, json);
  // Two connections: one runs the procedure, the other reads its progress.
  const sql = postgres(env('SUPABASE_DB_URL')!, { max: 1, onnotice: () => {}, prepare: false });
  const watch = postgres(env('SUPABASE_DB_URL')!, { max: 1, onnotice: () => {} });
  try {
    const [before] = await sql<{ due: number; last_run: string }[]>`
      select (select count(*)::int from public.conversations where expires_at <= now() and deleted_at is null) as due,
             (select coalesce(max(id), 0) from private.expiry_runs)::text as last_run`;
    const { due, last_run: lastRun } = before!;
    const bar = progress('expiring', { quiet: json });
    bar.update(0, due, 'conversations');

    // The procedure commits its run row first and updates it after each
    // batch: read from a second connection, it shows the batches as they go.
    // (The first run started after ours was known to be the last: an hourly
    // sweep starting at the same moment could be shown instead; the report
    // below is always this call's own.)
    let running = true;
    let wake = () => {};
    const watcher = (async () => {
      while (running) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, POLL_MS);
        });
        if (!running) break;
        const [run] = await watch<{ expired: number; batches: number }[]>`
          select expired, batches from private.expiry_runs where id > ${lastRun}::bigint order by id limit 1`.catch(() => []);
        if (run) bar.update(run.expired, Math.max(due, run.expired), `conversations, ${run.batches} ${run.batches === 1 ? 'batch' : 'batches'} committed`);
      }
    })();
    let report: { run: number; policy: string; expired: number; batches: number };
    try {
      // A procedure that commits between batches: called outside a transaction, with the simple protocol.
      const [row] = await sql.unsafe('call private.expire_conversations()');
      report = row!.report;
    } finally {
      running = false;
      wake();
      await watcher;
    }
    bar.finish(`${report.expired} conversation(s) expired in ${report.batches} ${report.batches === 1 ? 'batch' : 'batches'} (${report.policy})`);
    if (json) printJson({ target, ...report });
    else printFields([['policy', report.policy], ['expired', report.expired], ['batches', report.batches], ['run', report.run]]);
    return 0;
  } finally {
    await Promise.all([sql.end({ timeout: 5 }), watch.end({ timeout: 5 })]);
  }
}
