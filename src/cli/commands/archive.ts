// strata archive <status|work|retry|rebuild-index|restore>: operating the archive
// pipeline of a deployment (environment) or of the local stack.
import { constants as bufferConstants } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import { decodeChunks, readArchive } from '../../../supabase/functions/_shared/archive/read.ts';
import { rebuildIndex } from '../../../supabase/functions/_shared/archive/rebuild.ts';
import { createJobHandlers } from '../../../supabase/functions/_shared/jobs/handlers.ts';
import { readWorkerSettings } from '../../../supabase/functions/_shared/jobs/settings.ts';
import { drainJobs, type DrainSummary } from '../../../supabase/functions/_shared/jobs/worker.ts';
import { readS3Config } from '../../../supabase/functions/_shared/config.ts';
import { asUser } from '../../../supabase/functions/_shared/db/as-user.ts';
import { createSql } from '../../../supabase/functions/_shared/db/client.ts';
import { sqlStateOf } from '../../../supabase/functions/_shared/db/sqlstate.ts';
import { isAppError } from '../../../supabase/functions/_shared/http/errors.ts';
import { isUuid } from '../../../supabase/functions/_shared/ids.ts';
import { createS3Client } from '../../../supabase/functions/_shared/s3/client.ts';
import { checkAction } from '../args.ts';
import { CliError, printFields, printJson, type ParsedArgs } from '../output.ts';
import { progress } from '../progress.ts';
import { announceTarget, resolveTarget, type TargetSummary } from '../target.ts';

export const ARCHIVE_USAGE = `Usage:
  strata archive status [--json]                 Queue counts, oldest pending job, dead jobs and their errors
  strata archive work [--budget SECONDS] [--json] Run a worker here until no job is due (or the budget is spent)
  strata archive retry [--conversation ID] [--json]  Put dead-lettered jobs back in the queue
  strata archive rebuild-index [--metadata-json] [--json]  Rebuild the index from the S3 objects' metadata
  strata archive restore CONVERSATION_ID --user USER [--json]  Restore an archive of any size as its owner (id or e-mail)`;

export async function archiveCommand(args: ParsedArgs): Promise<number> {
  const action = checkAction(args, ARCHIVE_USAGE, {
    status: { flags: ['json'] },
    work: { flags: ['json'], valueFlags: ['budget'] },
    retry: { flags: ['json'], valueFlags: ['conversation'] },
    'rebuild-index': { flags: ['json', 'metadata-json'] },
    restore: { positional: ['CONVERSATION_ID'], flags: ['json'], valueFlags: ['user'], required: ['user'] },
  });
  const json = args.flags.has('json');
  const { env, summary: target } = await resolveTarget();
  announceTarget(target, json);
  const dbUrl = env('SUPABASE_DB_URL')!;
  const sql = createSql(dbUrl, { max: 10, applicationName: 'strata-cli' });
  try {
    switch (action) {
      case 'status':
        return await status(sql, env, json, target);
      case 'work':
        return await work(sql, env, args, json, target);
      case 'retry':
        return await retry(sql, args, json, target);
      case 'rebuild-index':
        return await rebuild(sql, env, args, json, target);
      case 'restore':
        return await restore(sql, env, args, json, target);
    }
  } finally {
    await sql.end({ timeout: 5 });
  }
}

async function status(sql: ReturnType<typeof createSql>, env: (n: string) => string | undefined, json: boolean, target: TargetSummary) {
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
    target,
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
    ['target', target.kind],
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

async function work(sql: ReturnType<typeof createSql>, env: (n: string) => string | undefined, args: ParsedArgs, json: boolean, target: TargetSummary) {
  const s3Config = readS3Config(env);
  const settings = readWorkerSettings(env);
  const budget = args.flags.get('budget');
  const wallMs = budget === undefined ? settings.wallBudgetMs : Number(budget) * 1000;
  if (!Number.isFinite(wallMs) || wallMs <= 0) throw new CliError('invalid_arguments', `--budget must be a positive number of seconds.\n${ARCHIVE_USAGE}`);
  // Jobs due now; the total grows when the work queues more (or others are queued meanwhile).
  const [{ due }] = await sql<{ due: number }[]>`select count(*)::int as due from private.jobs where status = 'pending' and run_after <= now()`;
  const bar = progress('working', { quiet: json });
  let total = due;
  bar.update(0, total, 'jobs finished');
  // Here, on a machine of its own, the worker is not held to an Edge Function's CPU and memory.
  const summary = await drainJobs(
    {
      sql,
      s3: s3Config.configured ? createS3Client(s3Config) : null,
      s3Config,
      settings,
      handlers: createJobHandlers(env),
      workerId: `cli-${process.pid}-${randomUUID().slice(0, 8)}`,
      log: (message) => process.stderr.write(`${message}\n`),
      onProgress: (soFar) => {
        const finished = soFar.claimed - inFlight(soFar);
        total = Math.max(total, soFar.claimed);
        bar.update(finished, total, `jobs finished (${describeDrain(soFar)})`);
      },
    },
    { wallMs, cpuMs: Number.MAX_SAFE_INTEGER, memoryBytes: Number.MAX_SAFE_INTEGER },
  );
  bar.finish(`claimed ${summary.claimed}, ${describeDrain(summary)}`);
  if (json) printJson({ target, ...summary });
  if (summary.idle_reason) {
    if (!json) process.stderr.write(`worker idle: ${summary.idle_reason}\n`);
    return 2;
  }
  return 0;
}

/** Jobs claimed but not finished yet. */
const inFlight = (s: DrainSummary) => s.claimed - s.done - s.skipped - s.lost - s.released - s.retrying - s.dead;

/** "done 12 (archive_conversation 10/11, delete_file 2/2), retrying 1, dead 0": done/claimed per kind. */
function describeDrain(s: DrainSummary): string {
  const kinds = Object.entries(s.by_kind).map(([kind, k]) => `${kind} ${k.done}/${k.claimed}`).join(', ');
  return `done ${s.done}${kinds ? ` (${kinds})` : ''}, retrying ${s.retrying}, dead ${s.dead}`;
}

async function retry(sql: ReturnType<typeof createSql>, args: ParsedArgs, json: boolean, target: TargetSummary) {
  const conversation = args.flags.get('conversation');
  if (conversation !== undefined && !isUuid(conversation)) throw new CliError('invalid_arguments', `--conversation must be a conversation id (UUID).\n${ARCHIVE_USAGE}`);
  const [row] = conversation
    ? await sql`select private.retry_dead_jobs('archive_conversation', ${conversation as string}::uuid) as retried`
    : await sql`select private.retry_dead_jobs() as retried`;
  if (json) printJson({ target, retried: row!.retried });
  else process.stdout.write(`${row!.retried} dead job(s) queued again.\n`);
  return 0;
}

async function rebuild(sql: ReturnType<typeof createSql>, env: (n: string) => string | undefined, args: ParsedArgs, json: boolean, target: TargetSummary) {
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
  if (json) printJson({ target, ...report });
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

/**
 * Restores an archive here, in Node, for archives larger than the archive
 * function restores (ARCHIVE_RESTORE_MAX_BYTES; an Edge Function has 256 MB):
 * downloads the object, checks its sha256, and calls the same SQL function as
 * the owner (role authenticated, request.jwt.claims), which checks the text
 * again under the index row's lock, restores conversation and messages in one
 * transaction and queues the deletion of exactly that archive's object.
 */
async function restore(sql: ReturnType<typeof createSql>, env: (n: string) => string | undefined, args: ParsedArgs, json: boolean, target: TargetSummary) {
  const id = args.positional[1];
  const who = args.flags.get('user');
  if (!isUuid(id)) throw new CliError('invalid_arguments', `"${id}" is not a conversation id (UUID).\n${ARCHIVE_USAGE}`);
  if (typeof who !== 'string' || who.trim() === '') throw new CliError('invalid_arguments', `--user needs a user id or e-mail.\n${ARCHIVE_USAGE}`);
  const conversationId = id.toLowerCase();
  const s3Config = readS3Config(env);
  if (!s3Config.configured) throw new CliError('s3_not_configured', s3Config.problem);
  const [user] = isUuid(who.trim())
    ? await sql<{ id: string; email: string | null }[]>`select id, email from auth.users where id = ${who.trim()}`
    : await sql<{ id: string; email: string | null }[]>`select id, email from auth.users where lower(email) = lower(${who.trim()})`;
  if (!user) throw new CliError('user_not_found', `There is no user ${who}.`);
  const [row] = await sql<{ status: string; s3_key: string | null; sha256: string | null }[]>`
    select status, s3_key, sha256 from public.archived_conversations where conversation_id = ${conversationId} and user_id = ${user.id}`;
  if (!row || row.status === 'deleting') throw new CliError('archive_not_found', `User ${who} has no archive of conversation ${conversationId}.`);
  if (row.status !== 'stored' || !row.s3_key || !row.sha256) {
    throw new CliError('archive_not_ready', `The archive of conversation ${conversationId} is not stored yet (it is ${row.status}).`);
  }

  const bar = progress('restore', { quiet: json });
  bar.update(0, undefined, 'downloading and checking the archive');
  // The whole text goes to one SQL call as one string: at most V8's longest
  // string (about 512 MiB), well within Postgres's 1 GB per value.
  const maxBytes = bufferConstants.MAX_STRING_LENGTH;
  let text: string;
  let jsonBytes: number;
  try {
    const read = await readArchive(createS3Client(s3Config, { maxAttempts: 6 }), s3Config.bucket, row.s3_key, row.sha256, {
      wholeMaxBytes: maxBytes,
      timeoutMs: s3Config.requestTimeoutMs,
      log: (message) => process.stderr.write(`${message}\n`),
    });
    if (!read.whole) {
      await read.stream.cancel().catch(() => undefined);
      throw new CliError('archive_too_large', `The archive's JSON is larger than ${maxBytes} bytes, more than one restore call can carry.`);
    }
    jsonBytes = read.bytes;
    text = decodeChunks(read.chunks);
  } catch (error) {
    if (isAppError(error)) throw new CliError(error.code, error.message);
    throw error;
  }

  bar.update(jsonBytes, jsonBytes, 'restoring in the database');
  const claims = { sub: user.id, role: 'authenticated', aud: 'authenticated', email: user.email ?? '' };
  let result: { conversation_id: string; message_count: number };
  try {
    result = await asUser(sql, claims, async (tx) => {
      // A large restore may take longer than a request's statement timeout.
      await tx`select set_config('statement_timeout', '0', true)`;
      const [restored] = await tx`select public.restore_archived_conversation(${text}) as result`;
      return restored!.result as { conversation_id: string; message_count: number };
    });
  } catch (error) {
    const known: Record<string, [string, string]> = {
      P0002: ['archive_not_found', `User ${who} has no archive of conversation ${conversationId} (restored or deleted meanwhile?).`],
      SA001: ['archive_corrupt', 'The stored archive does not match its checksum; nothing was restored.'],
      SA002: ['archive_not_ready', `The archive of conversation ${conversationId} is not stored yet.`],
      '23505': ['conflict', `Conversation ${conversationId} exists already; nothing was restored.`],
    };
    const state = sqlStateOf(error);
    if (state && known[state]) throw new CliError(...known[state]);
    throw error;
  }
  bar.finish(`restored conversation ${result.conversation_id} with ${result.message_count} messages`);
  const summary = { target, conversation_id: result.conversation_id, user_id: user.id, message_count: result.message_count, json_bytes: jsonBytes, sha256: row.sha256, restored: true };
  if (json) printJson(summary);
  else {
    printFields([
      ['conversation', summary.conversation_id],
      ['user', `${user.id}${user.email ? ` (${user.email})` : ''}`],
      ['messages', summary.message_count],
      ['JSON bytes', summary.json_bytes],
      ['sha256', summary.sha256],
    ]);
  }
  return 0;
}
