// strata jobs status: the durable job queue (private.jobs) of a deployment
// (environment) or of the local stack, per kind, with the last errors.
import { createSql } from '../../../supabase/functions/_shared/db/client.ts';
import { readJobStatus, type JobCounts, type JobStatus } from '../../../supabase/functions/_shared/jobs/status.ts';
import { checkAction } from '../args.ts';
import { formatAge, printJson, printTable, type ParsedArgs } from '../output.ts';
import { announceTarget, resolveTarget } from '../target.ts';

export const JOBS_USAGE = `Usage:
  strata jobs status [--json]   Per kind: due, backing off, running (expired leases), dead, done in the last hour,
                                the oldest due job's wait, and the last errors`;

export async function jobsCommand(args: ParsedArgs): Promise<number> {
  checkAction(args, JOBS_USAGE, { status: { flags: ['json'] } });
  const json = args.flags.has('json');

  const { env, summary: target } = await resolveTarget();
  announceTarget(target, json);
  const sql = createSql(env('SUPABASE_DB_URL')!, { max: 1, applicationName: 'strata-cli' });
  try {
    const status = await readJobStatus(sql);
    if (json) printJson({ target, ...status });
    else printStatus(status, target.kind);
    return 0;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

function printStatus(status: JobStatus, source: string): void {
  process.stdout.write(`Jobs on ${source} at ${status.at}\n\n`);
  const row = (kind: string, counts: JobCounts) => [
    kind,
    counts.due,
    counts.scheduled,
    counts.running,
    counts.expired_leases,
    counts.dead,
    counts.done_last_hour,
    counts.oldest_due_seconds === null ? '-' : formatAge(counts.oldest_due_seconds),
  ];
  printTable(
    ['KIND', 'DUE', 'BACKING OFF', 'RUNNING', 'LEASE EXPIRED', 'DEAD', 'DONE 1H', 'OLDEST DUE'],
    [...status.kinds.map((kind) => row(kind.kind, kind)), row('total', status.total)],
  );
  const errors = status.kinds.flatMap((kind) => kind.errors);
  if (errors.length === 0) return;
  process.stdout.write('\nLast errors (newest first, at most 5 per kind):\n');
  const at = Date.parse(status.at);
  for (const error of errors) {
    const age = formatAge((at - Date.parse(error.updated_at)) / 1000);
    // One line per error: the full text is in --json.
    const message = error.last_error.replace(/\s+/g, ' ').trim();
    const shown = message.length > 160 ? `${message.slice(0, 159)}…` : message;
    process.stdout.write(
      `  ${error.kind} ${error.subject_id} (job ${error.id}, ${error.status}, attempt ${error.attempts}/${error.max_attempts}, ${age} ago): ${shown}\n`,
    );
  }
}
