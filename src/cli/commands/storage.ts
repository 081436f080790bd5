// strata storage info | bucket setup | verify [--fix] | migrate-local DIR:
// the S3 side of a deployment (or of the local stack).
import { PROJECT_ROOT } from '../project.ts';
import path from 'node:path';
import { readS3Config } from '../../../supabase/functions/_shared/config.ts';
import { createSql } from '../../../supabase/functions/_shared/db/client.ts';
import { createS3Client } from '../../../supabase/functions/_shared/s3/client.ts';
import { storageInfo } from '../../../supabase/functions/_shared/storage/info.ts';
import { verifyStorage, type VerifyReport } from '../../../supabase/functions/_shared/storage/verify.ts';
import { setupBucket } from '../../ops/bucket-setup.ts';
import { isFlatFolderError, migrateLocal } from '../../ops/migrate-local.ts';
import { checkAction, checkArgs } from '../args.ts';
import { CliError, printFields, printJson, type ParsedArgs } from '../output.ts';
import { progress } from '../progress.ts';
import { announceTarget, resolveTarget } from '../target.ts';

export const STORAGE_USAGE = `Usage:
  strata storage info [--json]   Bucket, region, prefix, versioning, encryption, totals by kind`;
export const BUCKET_USAGE = `Usage:
  strata bucket setup [--json]   Create and configure the bucket; reports settings the endpoint refuses.
                                 S3_BUCKET_NAME (with the other S3 variables) in the shell names a deployment's bucket`;
export const VERIFY_USAGE = `Usage:
  strata verify [--fix] [--grace-hours HOURS] [--json]
      Compare S3 with every metadata table; --fix deletes orphans older than the grace period (24 h)
      (exit 1: problems found, 2: some rows could not be checked)`;
export const MIGRATE_LOCAL_USAGE = `Usage:
  strata migrate-local DIR [--user ID_OR_EMAIL] [--json]
      Import DIR/<user id or e-mail>/..., or a flat DIR as the one user named by --user`;

async function s3Target(json: boolean, options: { s3Only?: boolean } = {}) {
  const { env, summary } = await resolveTarget(options);
  announceTarget(summary, json);
  const s3Config = readS3Config(env);
  if (!s3Config.configured) throw new CliError('s3_not_configured', s3Config.problem);
  // Operator tools ride out transient S3 errors rather than stopping half-way.
  const s3 = createS3Client(s3Config, { maxAttempts: 6 });
  return { env, target: summary, s3Config, s3 };
}

async function target(json: boolean) {
  const s3 = await s3Target(json);
  const sql = createSql(s3.env('SUPABASE_DB_URL')!, { max: 4, applicationName: 'strata-cli' });
  return { ...s3, sql };
}

export async function storageCommand(args: ParsedArgs): Promise<number> {
  checkAction(args, STORAGE_USAGE, { info: { flags: ['json'] } });
  const json = args.flags.has('json');
  const { s3Config, s3, sql, target: where } = await target(json);
  try {
    const info = await storageInfo(sql, s3, s3Config);
    if (json) printJson({ target: where, ...info });
    else {
      printFields([
        ['target', where.kind],
        ['storage', `${info.storage_type}${info.endpoint ? ` at ${info.endpoint}` : ''}`],
        ['bucket', info.bucket],
        ['region', info.region],
        ['prefix', info.prefix ?? '(none)'],
        ['versioning', info.versioning],
        ['encryption', info.encryption],
        ['archives', `${info.totals.archives.count} (${info.totals.archives.bytes} bytes)`],
        ['files', `${info.totals.files.count} (${info.totals.files.bytes} bytes)`],
        ['analyses', `${info.totals.analyses.count} (${info.totals.analyses.bytes} bytes)`],
      ]);
    }
    return 0;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

export async function bucketCommand(args: ParsedArgs): Promise<number> {
  checkAction(args, BUCKET_USAGE, { setup: { flags: ['json'] } });
  const json = args.flags.has('json');
  // Only S3: the S3 variables alone name a deployment's bucket.
  const { env, s3Config, s3, target: where } = await s3Target(json, { s3Only: true });
  const result = await setupBucket(s3, s3Config, env);
  if (json) printJson({ target: where, ...result });
  else {
    for (const o of result.outcomes) process.stdout.write(`${o.outcome.padEnd(8)} ${o.setting}${o.detail ? ` — ${o.detail}` : ''}\n`);
    for (const w of result.warnings) process.stdout.write(`note: ${w}\n`);
  }
  return 0;
}

export async function verifyCommand(args: ParsedArgs): Promise<number> {
  checkArgs(args, VERIFY_USAGE, { flags: ['json', 'fix'], valueFlags: ['grace-hours'] });
  const json = args.flags.has('json');
  const graceRaw = args.flags.get('grace-hours');
  const graceHours = graceRaw === undefined ? 24 : Number(graceRaw);
  if (!Number.isFinite(graceHours) || graceHours < 0) {
    throw new CliError('invalid_arguments', `--grace-hours must be a number of hours (default 24).\n${VERIFY_USAGE}`);
  }
  const { s3Config, s3, sql, target: where } = await target(json);
  const bar = progress('verifying', { quiet: json });
  try {
    const report = await verifyStorage({
      sql,
      s3,
      config: s3Config,
      fix: args.flags.has('fix'),
      graceHours,
      onProgress: (phase, done, total) => bar.update(done, total, phase),
    });
    bar.finish(`${report.objects} objects, ${report.rows} rows`);
    const fix = args.flags.has('fix');
    const grace = `${report.grace_hours}-hour grace period`;
    if (json) printJson({ target: where, ...report });
    else {
      printFields([
        ['objects', report.objects],
        ['rows', report.rows],
        ['orphan objects', `${report.orphans.length}${report.young_orphans ? ` (${report.young_orphans} younger than the ${grace})` : ''}`],
        ['missing objects', report.missing.length],
        ['checksum mismatches', report.mismatched.length],
        ['unchecked rows', report.unchecked_rows],
        ['unlistable folders', report.unlistable.length],
        ['orphans deleted', report.deleted_orphans],
      ]);
      for (const o of report.orphans) process.stdout.write(`  orphan   ${o.key} (${o.size} bytes, ${o.last_modified ?? '?'})\n`);
      for (const m of report.missing) process.stdout.write(`  missing  ${m.key} (${m.table} ${m.id})\n`);
      for (const m of report.mismatched) process.stdout.write(`  mismatch ${m.key} (${m.table} ${m.id})\n`);
      // A folder's unchecked rows in one line (there may be thousands); a failed HEAD, row by row.
      for (const u of report.unlistable) process.stdout.write(`  unlistable ${u.prefix}: ${u.reason} (${u.unchecked_rows} ${u.unchecked_rows === 1 ? 'row' : 'rows'} unchecked)\n`);
      for (const u of report.unchecked) if (u.prefix === u.key) process.stdout.write(`  unchecked ${u.key} (${u.table} ${u.id}): ${u.reason}\n`);
      if (fix && report.young_orphans > 0) {
        process.stdout.write(`note: kept ${report.young_orphans} ${report.young_orphans === 1 ? 'orphan' : 'orphans'} younger than the ${grace} (uploads may still be in flight; --grace-hours sets it)\n`);
      }
      if (report.unchecked_rows > 0 || report.unlistable.length > 0) process.stdout.write('note: the check is incomplete; run verify again once S3 answers\n');
    }
    return verifyExitCode(report);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/**
 * 0: everything checked and consistent. 1: something is wrong (a missing
 * object, a checksum mismatch, an orphan past the grace period left in place).
 * 2: nothing found wrong, but some rows or folders could not be checked.
 * Young orphans alone are not a failure: they may be uploads in flight.
 */
export function verifyExitCode(report: VerifyReport): number {
  const oldOrphansLeft = report.orphans.length - report.young_orphans - report.deleted_orphans;
  if (report.missing.length > 0 || report.mismatched.length > 0 || oldOrphansLeft > 0) return 1;
  return report.unchecked_rows > 0 || report.unlistable.length > 0 ? 2 : 0;
}

export async function migrateLocalCommand(args: ParsedArgs): Promise<number> {
  checkArgs(args, MIGRATE_LOCAL_USAGE, { positional: ['DIR'], flags: ['json'], valueFlags: ['user'] });
  const dir = args.positional[0]!;
  const json = args.flags.has('json');
  const { s3Config, s3, sql, target: where } = await target(json);
  const bar = progress('importing', { quiet: json });
  try {
    const user = args.flags.get('user');
    const report = await migrateLocal({
      sql,
      s3,
      config: s3Config,
      dir: path.resolve(process.cwd() || PROJECT_ROOT, dir),
      user: typeof user === 'string' ? user : undefined,
      onProgress: (done, total) => bar.update(done, total),
    });
    bar.finish(`${report.scanned} scanned`);
    if (json) printJson({ target: where, ...report });
    else {
      printFields([
        ['scanned', report.scanned],
        ['files imported', report.imported.files],
        ['analyses imported', report.imported.analyses],
        ['already there', report.unchanged],
        ['skipped', report.skipped.length],
        ['verified', `${report.verified.rows} rows, ${report.verified.objects} objects: ${report.verified.ok ? 'ok' : 'MISMATCH'}`],
      ]);
      for (const s of report.skipped) process.stdout.write(`  skipped ${s.path}: ${s.reason}\n`);
    }
    return report.verified.ok ? 0 : 1;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new CliError('not_found', `No such folder: ${dir}`);
    if (isFlatFolderError(error)) {
      throw new CliError(
        'user_required',
        `${dir} holds ${error.files} file(s) and no folder named by a user id or e-mail, so nothing says whose they are. ` +
          `Import them as one user with --user:\n  strata migrate-local ${dir} --user USER_ID_OR_EMAIL\n` +
          `or move them into DIR/<user id or e-mail>/ (one folder per user).`,
      );
    }
    throw error;
  } finally {
    await sql.end({ timeout: 5 });
  }
}
