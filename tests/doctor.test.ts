// strata doctor against the test stack: it passes on the stack as started,
// and names each problem when one part is broken, then passes again once
// everything is restored. Every test restores what it breaks in a finally
// block (the stack is shared by the whole run). The pg_cron side (cron.job compared
// with private.scheduled_jobs) needs a real pg_cron and is covered in
// tests/unit/doctor.test.ts.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Check, DoctorReport } from '../src/ops/doctor/check.ts';
import { control } from './helpers/control.ts';
import { connect, type Sql } from './helpers/db.ts';

const stack = inject('stack');
let sql: Sql;
beforeAll(() => {
  sql = connect({ max: 2 });
});
afterAll(() => sql.end());

function strata(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(process.execPath, ['bin/strata.mjs', ...args], { env: { ...process.env, STRATA_STATE_DIR: stack.stateDir } }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

async function doctor(): Promise<{ code: number; report: DoctorReport; check: (name: string) => Check }> {
  const result = await strata('doctor', '--json');
  let report: DoctorReport;
  try {
    report = JSON.parse(result.stdout) as DoctorReport;
  } catch {
    throw new Error(`strata doctor --json printed no JSON (exit ${result.code}): ${result.stdout}${result.stderr}`);
  }
  return {
    code: result.code,
    report,
    check: (name) => {
      const found = report.checks.find((check) => check.name === name);
      if (!found) throw new Error(`no ${name} check in ${JSON.stringify(report.checks.map((c) => c.name))}`);
      return found;
    },
  };
}

const CHECKS = [
  'database', 'pg_net', 'pg_cron', 'scheduled_jobs', 'vault_secrets', 'worker',
  's3_bucket', 's3_cors', 's3_encryption', 'migrations', 'dead_jobs', 'due_jobs', 'expired_leases',
];
const failures = (report: DoctorReport) => report.checks.filter((check) => check.status === 'fail');

describe('strata doctor on the local stack', () => {
  it('passes (no fail, exit 0), lists every check, and reports the emulated pg_net and pg_cron as such', async () => {
    const { code, report, check } = await doctor();
    expect(failures(report)).toEqual([]);
    expect(code).toBe(0);
    expect(report.target).toMatchObject({ kind: 'local stack', bucket: stack.s3Bucket });
    expect(report.checks.map((c) => c.name)).toEqual(CHECKS);
    for (const c of report.checks) {
      expect(['ok', 'warn', 'fail']).toContain(c.status);
      expect(c.detail.length, c.name).toBeGreaterThan(0);
    }
    expect(check('pg_net')).toMatchObject({ status: 'ok', detail: expect.stringMatching(/^emulated/) });
    expect(check('pg_cron')).toMatchObject({ status: 'ok', detail: expect.stringMatching(/^emulated.*dev scheduler/) });
    expect(check('scheduled_jobs')).toMatchObject({ status: 'ok', detail: expect.stringContaining('strata-jobs-sweep (5 seconds)') });
    expect(check('vault_secrets').status).toBe('ok');
    expect(check('worker')).toMatchObject({ status: 'ok', detail: expect.stringContaining('answered 200') });
    expect(check('s3_bucket')).toMatchObject({ status: 'ok', detail: expect.stringContaining(stack.s3Bucket) });
    // The local bucket gets the CORS rule bucket setup gives a deployment's.
    expect(check('s3_cors')).toMatchObject({ status: 'ok' });
    // s3rver has no encryption configuration: a warning, never a failure.
    expect(check('s3_encryption')).toMatchObject({ status: 'warn', detail: expect.stringMatching(/^unsupported by this endpoint/) });
    expect(check('migrations')).toMatchObject({ status: 'ok', detail: expect.stringMatching(/^all \d+ migrations applied/) });
  });

  it('prints one line per check for people: status, name, detail and the fix', async () => {
    const result = await strata('doctor');
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.split('\n').filter((line) => /^(ok|warn|fail)\s/.test(line));
    expect(lines.map((line) => line.split(/\s+/)[1])).toEqual(CHECKS);
    expect(result.stdout).toMatch(/^strata doctor: local stack$/m);
    expect(result.stdout).toMatch(/^13 checks: \d+ ok, \d+ warn, 0 fail$/m);
    // Never the stored key.
    expect(result.stdout).not.toContain(stack.serviceRoleKey);
  });

  it('refuses arguments it does not know', async () => {
    const result = await strata('doctor', '--fix');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Unknown option --fix');
  });
});

describe('strata doctor names what is broken', () => {
  const secretId = async (name: string) => {
    const [row] = await sql<{ id: string; value: string }[]>`select id, decrypted_secret as value from vault.decrypted_secrets where name = ${name}`;
    if (!row) throw new Error(`no ${name} secret in the Vault`);
    return row;
  };

  it('a missing Vault secret strata_service_role_key: vault_secrets fails with the SQL that creates it', async () => {
    const { id } = await secretId('strata_service_role_key');
    const held = `strata_service_role_key (held by doctor test ${randomUUID()})`;
    // Renamed rather than deleted (vault.update_secret, as on Supabase), so it comes back unchanged.
    await sql`select vault.update_secret(${id}::uuid, null, ${held})`;
    try {
      const { code, check } = await doctor();
      expect(check('vault_secrets')).toMatchObject({
        status: 'fail',
        detail: expect.stringContaining('strata_service_role_key is missing'),
        fix: expect.stringContaining("vault.create_secret('<service_role key>', 'strata_service_role_key')"),
      });
      expect(check('worker').status).toBe('warn');
      expect(code).toBe(1);
    } finally {
      await sql`select vault.update_secret(${id}::uuid, null, 'strata_service_role_key')`;
    }
  });

  it('a stored key that is not the service role key: the worker answers 401 and doctor says the key is wrong', async () => {
    const { id, value } = await secretId('strata_service_role_key');
    await sql`select vault.update_secret(${id}::uuid, ${`not-the-service-role-key-${randomUUID()}`})`;
    try {
      const { code, check } = await doctor();
      expect(check('vault_secrets').status).toBe('ok');
      expect(check('worker')).toMatchObject({
        status: 'fail',
        detail: expect.stringMatching(/answered 401 .*not the service role key the functions compare against/),
        fix: expect.stringContaining('vault.update_secret'),
      });
      expect(code).toBe(1);
    } finally {
      await sql`select vault.update_secret(${id}::uuid, ${value})`;
    }
  });

  it('S3 stopped: s3_bucket fails (cannot reach), the bucket settings are reported as not checked', async () => {
    await control.stopS3();
    try {
      const { code, check } = await doctor();
      expect(check('s3_bucket')).toMatchObject({ status: 'fail', detail: expect.stringContaining('cannot reach S3') });
      expect(check('s3_cors')).toMatchObject({ status: 'warn', detail: expect.stringContaining('not checked') });
      expect(check('s3_encryption')).toMatchObject({ status: 'warn', detail: expect.stringContaining('not checked') });
      expect(code).toBe(1);
    } finally {
      await control.startS3();
    }
  });

  it('a migration missing from supabase_migrations.schema_migrations: migrations fails naming it', async () => {
    const [latest] = await sql<{ version: string; row: unknown }[]>`
      delete from supabase_migrations.schema_migrations m
       where version = (select max(version) from supabase_migrations.schema_migrations)
      returning m.version, to_jsonb(m.*) as row`;
    expect(latest).toBeDefined();
    try {
      const { code, check } = await doctor();
      expect(check('migrations')).toMatchObject({
        status: 'fail',
        detail: expect.stringMatching(new RegExp(`^1 of \\d+ migrations not applied: ${latest!.version}_\\w+\\.sql$`)),
        fix: expect.stringContaining('npm start'),
      });
      expect(code).toBe(1);
    } finally {
      await sql`insert into supabase_migrations.schema_migrations
                select * from jsonb_populate_record(null::supabase_migrations.schema_migrations, ${sql.json(latest!.row as never)})`;
    }
  });

  it('a scheduled job whose schedule pg_cron would refuse: scheduled_jobs fails naming it', async () => {
    const [original] = await sql<{ schedule: string }[]>`select schedule from private.scheduled_jobs where name = 'strata-prune-jobs'`;
    expect(original).toBeDefined();
    // Passes the table's shape check (five fields) but minute 61 does not exist.
    await sql`update private.scheduled_jobs set schedule = '61 * * * *' where name = 'strata-prune-jobs'`;
    try {
      const { code, check } = await doctor();
      expect(check('scheduled_jobs')).toMatchObject({ status: 'fail', detail: expect.stringContaining("strata-prune-jobs ('61 * * * *')") });
      expect(code).toBe(1);
    } finally {
      await sql`update private.scheduled_jobs set schedule = ${original!.schedule} where name = 'strata-prune-jobs'`;
    }
  });

  it('a dead job, a due job waiting for an hour and a lease expired minutes ago: three warnings, exit 0', async () => {
    const WORKER = `doctor-test-${randomUUID().slice(0, 8)}`;
    const subjects = { dead: randomUUID(), due: randomUUID(), expired: randomUUID() };
    const all = Object.values(subjects);
    const insert = () => sql`
      insert into private.jobs (kind, subject_id, status, attempts, run_after, lease_until, locked_by, last_error)
      values ('erase_user_objects', ${subjects.dead}, 'dead', 8, now(), null, null, 'doctor test: bucket refused the delete'),
             ('erase_user_objects', ${subjects.due}, 'pending', 0, now() - interval '1 hour', null, null, null),
             ('erase_user_objects', ${subjects.expired}, 'running', 1, now() - interval '1 hour', now() - interval '5 minutes', ${WORKER}, null)`;
    const remove = () => sql`delete from private.jobs where subject_id in ${sql(all)}`;
    // Workers (SKIP LOCKED) pass the held rows by, and the sweep waits for
    // them. Between the insert and the lock one could be taken: start again.
    let held: Awaited<ReturnType<Sql['reserve']>> | null = null;
    try {
      for (let attempt = 1; !held; attempt++) {
        await insert();
        const tx = await sql.reserve();
        await tx`begin`;
        const locked = await tx`
          select id from private.jobs
           where (subject_id = ${subjects.due} and status = 'pending' and attempts = 0)
              or (subject_id = ${subjects.expired} and status = 'running' and locked_by = ${WORKER})
             for update`;
        if (locked.length === 2) held = tx;
        else {
          await tx`rollback`;
          tx.release();
          await remove();
          if (attempt === 3) throw new Error('a worker kept taking the test jobs before they could be held');
        }
      }

      const { code, report, check } = await doctor();
      expect(check('dead_jobs')).toMatchObject({
        status: 'warn',
        detail: expect.stringMatching(/^\d+ dead jobs? \(.*erase_user_objects \d+/),
        fix: expect.stringContaining('strata archive retry'),
      });
      expect(check('due_jobs')).toMatchObject({ status: 'warn', detail: expect.stringMatching(/the oldest for (1h|\d+h \d+m).*workers are not being woken/) });
      expect(check('expired_leases')).toMatchObject({ status: 'warn', detail: expect.stringContaining('the sweep is not reclaiming them') });
      // Warnings only: the run still passes.
      expect(failures(report)).toEqual([]);
      expect(code).toBe(0);
    } finally {
      // Deleted while still held, so the sweep never reclaims the expired job.
      if (held) {
        await held`delete from private.jobs where subject_id in ${held(all)}`;
        await held`commit`;
        held.release();
      }
      await remove();
    }
  });

  // One run for all of the above (each doctor run takes seconds).
  it('passes again once everything broken above is restored', async () => {
    const { code, report, check } = await doctor();
    expect(failures(report)).toEqual([]);
    expect(code).toBe(0);
    for (const name of ['vault_secrets', 'worker', 's3_bucket', 'migrations', 'scheduled_jobs']) expect(check(name).status, name).toBe('ok');
  });
});
