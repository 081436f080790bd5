// strata doctor [--json]: checks a deployment (environment) or the local
// stack end to end and says what to fix: one line per check, ok / warn /
// fail, with a fix. Exit 1 when any check failed (warnings are allowed).
import path from 'node:path';
import { createSql } from '../../../supabase/functions/_shared/db/client.ts';
import type { DoctorReport } from '../../ops/doctor/check.ts';
import { hasFailure, runDoctor } from '../../ops/doctor/run.ts';
import { checkArgs } from '../args.ts';
import { printJson, type ParsedArgs } from '../output.ts';
import { PROJECT_ROOT } from '../project.ts';
import { announceTarget, resolveTarget } from '../target.ts';

export const DOCTOR_USAGE = `Usage:
  strata doctor [--json]   Check the deployment named by SUPABASE_DB_URL and the S3 variables (or the local stack):
                           pg_net, pg_cron, the cron jobs, the Vault secrets, the worker, S3, migrations, the queue`;

export async function doctorCommand(args: ParsedArgs): Promise<number> {
  checkArgs(args, DOCTOR_USAGE, { flags: ['json'] });
  const json = args.flags.has('json');

  const { env, summary: target } = await resolveTarget();
  announceTarget(target, json);
  const sql = createSql(env('SUPABASE_DB_URL')!, { max: 4, applicationName: 'strata-cli' });
  try {
    const report = await runDoctor({
      sql,
      env,
      target: target.kind === 'deployment' ? 'environment' : 'local stack',
      migrationsDir: path.join(PROJECT_ROOT, 'supabase', 'migrations'),
    });
    if (json) printJson({ ...report, target });
    else printReport(report);
    return hasFailure(report) ? 1 : 0;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

function printReport(report: DoctorReport): void {
  process.stdout.write(`strata doctor: ${report.target}\n\n`);
  const width = Math.max(...report.checks.map((check) => check.name.length));
  for (const check of report.checks) {
    const fix = check.fix ? ` → fix: ${check.fix}` : '';
    process.stdout.write(`${check.status.padEnd(4)}  ${check.name.padEnd(width)}  ${check.detail}${fix}\n`);
  }
  const count = (status: string) => report.checks.filter((check) => check.status === status).length;
  process.stdout.write(`\n${report.checks.length} checks: ${count('ok')} ok, ${count('warn')} warn, ${count('fail')} fail\n`);
}
