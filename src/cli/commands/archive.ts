// strata archive <status|work|retry|rebuild-index>: operating the archive
// pipeline of a deployment (environment) or of the local stack.
import { randomUUID } from 'node:crypto';
import { rebuildIndex } from '../../../supabase/functions/_shared/archive/rebuild.ts';
import { readArchiveSettings } from '../../../supabase/functions/_shared/jobs/settings.ts';
import { drainJobs } from '../../../supabase/functions/_shared/jobs/worker.ts';
import { readS3Config } from '../../../supabase/functions/_shared/config.ts';
import { createSql } from '../../../supabase/functions/_shared/db/client.ts';
import { isUuid } from '../../../supabase/functions/_shared/ids.ts';
import { createS3Client } from '../../../supabase/functions/_shared/s3/client.ts';
import { CliError, printFields, printJson, type ParsedArgs } from '../output.ts';
import { progress } from '../progress.ts';
import { resolveTargetEnv } from '../target.ts';

export const ARCHIVE_USAGE = `Usage:
  strata archive status [--json]                 Queue counts, oldest pending job, dead jobs and their errors
  strata archive work [--budget SECONDS] [--json] Run a worker here until no job is due (or the budget is spent)
  strata archive retry [--conversation ID] [--json]  Put dead-lettered jobs back in the queue
  strata archive rebuild-index [--metadata-json] [--json]  Rebuild the index from the S3 objects' metadata`;

export async function archiveCommand(args: ParsedArgs): Promise<number> {
  const [action] = args.positional;
  const json = args.flags.has('json');
  const { env, source } = await resolveTargetEnv();
  const dbUrl = env('SUPABASE_DB_URL')!;
  const sql = createSql(dbUrl, { max: 10, applicationName: 'strata-cli' });
  try {
    switch (action) {
      case 'status':
        return await status(sql, env, json, source);
      case 'work':
        return await work(sql, env, args, json);
      case 'retry':
        return await retry(sql, args, json);
      case 'rebuild-index':
        return await rebuild(sql, env, args, json);
      default:
        throw new CliError('invalid_arguments', ARCHIVE_USAGE);
    }
  } finally {
    await sql.end({ timeout: 5 });
  }
}

async function status(sql: ReturnType<typeof createSql>, env: (n: string) => string | undefined, json: boolean, source: string) {
  const s3 = readS3Config(env);
  const [counts] = await sql`
    select count(*) filter (where status = 'pending')::int as pending,
           count(*) filter (where status = 'running')::int as running,
           count(*) filter (where status = 'dead')::int as dead,
           extract(epoch from now() - min(created_at) filter (where status = 'pending'))::float as oldest_pending_seconds
      from private.jobs`;
  const [stored] = await sql`select count(*)::int as archived, coalesce(sum(bytes), 0)::bigint as bytes from public.archived_conversations where status = 'stored'`;
  const dead = await sql`select id, kind, subject_id, attempts, last_error, updated_at from private.jobs where status = 'dead' order by updated_at desc limit 10`;
  const result = {
    target: source,
    s3: s3.configured ? { configured: true, bucket: s3.bucket, prefix: s3.prefix || null } : { configured: false, problem: s3.problem },
    jobs: { pending: counts!.pending, running: counts!.running, dead: counts!.dead, oldest_pending_seconds: counts!.oldest_pending_seconds },
    archived: { conversations: stored!.archived, bytes: Number(stored!.bytes) },
    dead_jobs: dead,
  };
  if (json) {
    printJson(result);
    return 0;
  }
  printFields([
    ['target', source],
    ['S3', s3.configured ? `${s3.bucket}${s3.prefix ? `/${s3.prefix}` : ''}` : `not configured: ${s3.problem}`],
    ['pending', counts!.pending],
    ['running', counts!.running],
    ['dead', counts!.dead],
    ['oldest pending', counts!.oldest_pending_seconds === null ? '-' : `${Math.round(counts!.oldest_pending_seconds)} s`],
    ['archived', `${stored!.archived} conversations, ${Number(stored!.bytes)} bytes`],
  ]);
  for (const job of dead) process.stdout.write(`  dead job ${job.id} ${job.kind} ${job.subject_id} after ${job.attempts} attempts: ${job.last_error}\n`);
  return 0;
}

async function work(sql: ReturnType<typeof createSql>, env: (n: string) => string | undefined, args: ParsedArgs, json: boolean) {
  const s3Config = readS3Config(env);
  const settings = readArchiveSettings(env);
  const budget = args.flags.get('budget');
  const budgetMs = budget === undefined ? settings.budgetMs : Number(budget) * 1000;
  if (!Number.isFinite(budgetMs) || budgetMs <= 0) throw new CliError('invalid_arguments', '--budget must be a positive number of seconds.');
  const bar = progress('archiving', { quiet: json });
  const summary = await drainJobs(
    {
      sql,
      s3: s3Config.configured ? createS3Client(s3Config) : null,
      s3Config,
      settings,
      workerId: `cli-${process.pid}-${randomUUID().slice(0, 8)}`,
      log: (message) => process.stderr.write(`${message}\n`),
    },
    budgetMs,
  );
  bar.finish(`claimed ${summary.claimed}, archived ${summary.archived}, erased users ${summary.erased_users}, retrying ${summary.retrying}, dead ${summary.dead}`);
  if (json) printJson(summary);
  if (summary.idle_reason) {
    if (!json) process.stderr.write(`worker idle: ${summary.idle_reason}\n`);
    return 2;
  }
  return 0;
}

async function retry(sql: ReturnType<typeof createSql>, args: ParsedArgs, json: boolean) {
  const conversation = args.flags.get('conversation');
  if (conversation !== undefined && !isUuid(conversation)) throw new CliError('invalid_arguments', '--conversation must be a conversation id (UUID).');
  const [row] = conversation
    ? await sql`select private.retry_dead_jobs('archive_conversation', ${conversation as string}::uuid) as retried`
    : await sql`select private.retry_dead_jobs() as retried`;
  if (json) printJson({ retried: row!.retried });
  else process.stdout.write(`${row!.retried} dead job(s) queued again.\n`);
  return 0;
}

async function rebuild(sql: ReturnType<typeof createSql>, env: (n: string) => string | undefined, args: ParsedArgs, json: boolean) {
  const s3Config = readS3Config(env);
  if (!s3Config.configured) throw new CliError('s3_not_configured', s3Config.problem);
  const bar = progress('reading archive metadata', { quiet: json });
  const report = await rebuildIndex({
    sql,
    // A long scan: ride out transient S3 errors instead of aborting it.
    s3: createS3Client(s3Config, { maxAttempts: 6 }),
    config: s3Config,
    writeMetadataJson: args.flags.has('metadata-json'),
    onProgress: (done, total) => bar.update(done, total),
  });
  bar.finish(`${report.objects} objects read`);
  if (json) printJson(report);
  else {
    printFields([
      ['objects', report.objects],
      ['indexed', report.indexed],
      ['already indexed', report.unchanged],
      ['skipped (live)', report.skipped_live],
      ['skipped (no user)', report.skipped_unknown_user],
      ['vanished meanwhile', report.vanished],
      ['invalid', report.invalid.length],
      ['metadata.json', report.metadata_files],
    ]);
    for (const item of report.invalid) process.stdout.write(`  invalid ${item.key}: ${item.reason}\n`);
  }
  return report.invalid.length > 0 ? 1 : 0;
}
