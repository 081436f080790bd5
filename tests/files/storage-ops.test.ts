// Storage operations through the CLI against the test stack: info, bucket
// setup on an endpoint that refuses most settings, verify (orphans both ways,
// --fix with a grace period), and migrate-local run twice.
import { DeleteBucketCommand, HeadBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { api, waitUntil } from '../helpers/archive.ts';
import { connect, createUser, type Sql } from '../helpers/db.ts';
import { makePdf } from '../helpers/pdf.ts';
import { directS3 } from '../helpers/s3.ts';

const stack = inject('stack');
let sql: Sql;
beforeAll(() => {
  sql = connect();
});
afterAll(() => sql.end());

function strata(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return strataWith({ STRATA_STATE_DIR: stack.stateDir }, ...args);
}

function strataWith(env: Record<string, string>, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(process.execPath, ['bin/strata.mjs', ...args], { env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

describe('storage info', () => {
  it('reports the bucket and totals by kind, from the CLI and from the function (service role only)', async () => {
    const cli = await strata('storage', 'info', '--json');
    expect(cli.code, cli.stderr).toBe(0);
    const info = JSON.parse(cli.stdout);
    expect(info).toMatchObject({ storage_type: 's3-compatible', bucket: stack.s3Bucket, region: stack.s3Region, totals: { archives: { count: expect.any(Number) }, files: { count: expect.any(Number) }, analyses: { count: expect.any(Number) } } });
    const fn = await api('/storage/info', { token: stack.serviceRoleKey });
    expect(fn.status).toBe(200);
    expect(fn.body).toMatchObject({ configured: true, bucket: stack.s3Bucket });
    expect((await api('/storage/info', { token: stack.anonKey })).status).toBe(401);
  });
});

describe('bucket setup', () => {
  it('reports each setting the endpoint refused instead of failing, and warns about small objects in cold storage', async () => {
    const result = await strata('bucket', 'setup', '--json');
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);
    const settings = report.outcomes.map((o: { setting: string }) => o.setting);
    expect(settings).toEqual(['bucket', 'block public access', 'default encryption', 'versioning', 'CORS for browser uploads', 'lifecycle rules']);
    expect(report.outcomes[0]).toMatchObject({ outcome: 'already' });
    expect(report.outcomes.some((o: { outcome: string }) => o.outcome === 'refused')).toBe(true);
    expect(report.warnings.join(' ')).toMatch(/128 KB/);
    expect(report.warnings.join(' ')).toMatch(/40 KB/);
  });

  it("sets up a deployment's bucket from the S3 variables alone, with no database URL and no local stack", async () => {
    const bucket = `strata-deploy-${crypto.randomUUID().slice(0, 8)}`;
    const nowhere = await mkdtemp(path.join(tmpdir(), 'strata-no-stack-'));
    try {
      const env = {
        STRATA_STATE_DIR: nowhere, SUPABASE_DB_URL: '',
        AWS_ACCESS_KEY_ID: stack.s3AccessKeyId, AWS_SECRET_ACCESS_KEY: stack.s3SecretAccessKey, AWS_REGION: stack.s3Region,
        S3_BUCKET_NAME: bucket, S3_ENDPOINT: stack.s3Endpoint, S3_FORCE_PATH_STYLE: 'true', S3_SSE: 'AES256',
        STORAGE_CORS_ORIGINS: 'https://app.example.com',
      };
      const result = await strataWith(env, 'bucket', 'setup', '--json');
      expect(result.code, result.stderr).toBe(0);
      const report = JSON.parse(result.stdout);
      expect(report.outcomes[0]).toEqual({ setting: 'bucket', outcome: 'applied', detail: bucket });
      expect(report.target).toMatchObject({ kind: 'deployment', database: null, bucket });
      expect(report.outcomes.map((o: { setting: string }) => o.setting)).toContain('lifecycle rules'); // its rules: tests/unit/bucket-setup.test.ts
      await directS3().s3.send(new HeadBucketCommand({ Bucket: bucket }));
      // Without the S3 variables, nothing names a target.
      const none = await strataWith({ STRATA_STATE_DIR: nowhere, SUPABASE_DB_URL: '', S3_BUCKET_NAME: '' }, 'bucket', 'setup', '--json');
      expect(none.code).toBe(1);
      expect(JSON.parse(none.stdout).error.code).toBe('no_target');
    } finally {
      await directS3().s3.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => undefined);
      await rm(nowhere, { recursive: true, force: true });
    }
  });
});

describe('verify', () => {
  it('finds orphan objects and missing objects, and --fix removes orphans past the grace period only', async () => {
    const user = await createUser(sql, 'verify');
    const { s3, bucket } = directS3();
    const orphanKey = `files/${user.id}/${crypto.randomUUID()}/orphan.pdf`;
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: orphanKey, Body: 'orphan' }));
    const missingId = crypto.randomUUID();
    const missingKey = `analysis/2026/11/${user.id}/${missingId}.json`;
    await sql`insert into analyses (id, user_id, kind, s3_key, size, sha256, status) values (${missingId}, ${user.id}, 'analysis', ${missingKey}, 2, ${'b'.repeat(64)}, 'stored')`;

    const found = await strata('verify', '--json');
    expect(found.code).toBe(1);
    const report = JSON.parse(found.stdout);
    expect(report.orphans.map((o: { key: string }) => o.key)).toContain(orphanKey);
    expect(report.missing).toContainEqual({ table: 'analyses', id: missingId, key: missingKey });

    // Young orphans may be uploads in flight: the default grace keeps them.
    const kept = JSON.parse((await strata('verify', '--fix', '--json')).stdout);
    expect(kept.orphans.map((o: { key: string }) => o.key)).toContain(orphanKey);
    expect(kept.deleted_orphans).toBe(0);
    const fixed = JSON.parse((await strata('verify', '--fix', '--grace-hours', '0', '--json')).stdout);
    expect(fixed.deleted_orphans).toBeGreaterThanOrEqual(1);
    const after = JSON.parse((await strata('verify', '--json')).stdout);
    expect(after.orphans.map((o: { key: string }) => o.key)).not.toContain(orphanKey);

    // Clean up the planted dangling row the S3-first way's own table: a purge by SQL.
    await sql.begin(async (tx) => {
      await tx`select private.open_gate('delete_analysis', ${missingId})`;
      await tx`delete from analyses where id = ${missingId}`;
    });
  });
});

describe('migrate-local', () => {
  it('imports a folder idempotently (a second run changes nothing) and verifies the counts', async () => {
    const user = await createUser(sql, 'migrate');
    const dir = await mkdtemp(path.join(tmpdir(), 'strata-migrate-'));
    try {
      const folder = path.join(dir, user.email);
      await mkdir(path.join(folder, 'handbooks'), { recursive: true });
      await writeFile(path.join(folder, 'analysis_2025_01.json'), JSON.stringify({ summary: 'ok', score: 3 }));
      await writeFile(path.join(folder, 'transcript_call.json'), JSON.stringify([{ speaker: 'a', text: 'hello' }]));
      await writeFile(path.join(folder, 'handbooks', 'Handbook 1.pdf'), makePdf(['Welcome to the handbook of this company']));
      await writeFile(path.join(folder, 'notes.txt'), 'some notes');
      await writeFile(path.join(folder, 'broken.json'), '{not json');
      await writeFile(path.join(folder, 'image.png'), 'x');
      await mkdir(path.join(dir, 'nobody@example.invalid'));

      const first = await strata('migrate-local', dir, '--json');
      expect(first.code, first.stderr).toBe(0);
      const report = JSON.parse(first.stdout);
      expect(report).toMatchObject({ imported: { files: 2, analyses: 2 }, unchanged: 0, verified: { rows: 4, objects: 4, ok: true } });
      expect(report.skipped.map((s: { path: string }) => path.basename(s.path)).sort()).toEqual(['broken.json', 'image.png', 'nobody@example.invalid']);

      const kinds = await sql`select kind from analyses where user_id = ${user.id} order by kind`;
      expect(kinds.map((k) => k.kind)).toEqual(['analysis', 'transcript']);
      await waitUntil('the imported PDF to be processed', async () => {
        const [row] = await sql`select status from files where user_id = ${user.id} and content_type = 'application/pdf'`;
        return row?.status === 'processed';
      });

      const second = JSON.parse((await strata('migrate-local', dir, '--json')).stdout);
      expect(second).toMatchObject({ imported: { files: 0, analyses: 0 }, unchanged: 4, verified: { ok: true } });
      const [{ n }] = await sql`select (select count(*) from files where user_id = ${user.id}) + (select count(*) from analyses where user_id = ${user.id}) as n`;
      expect(Number(n)).toBe(4);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
