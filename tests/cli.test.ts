// The CLI against the running test stack: status --json, user create, and a
// second start refusing to run over the first; the target each operations
// command names (and the shell variables it ignores on the local stack), the
// progress of expire and archive work, and migrate-local on a flat folder.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { verifyJwt } from '../src/auth/jwt.ts';
import { PROJECT_ROOT } from '../src/cli/project.ts';
import { deleteHeld, release, seedConversations, waitForArchived } from './helpers/archive.ts';
import { control } from './helpers/control.ts';
import { connect, createUser } from './helpers/db.ts';

const stack = inject('stack');
const run = promisify(execFile);
const sql = connect({ max: 1 });
afterAll(() => sql.end());

async function strata(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return strataWith({}, ...args);
}

/** The CLI on the local stack (the test stack), with `env` added to the shell's variables. */
async function strataWith(env: Record<string, string>, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const { SUPABASE_DB_URL: _deployment, ...shell } = process.env;
  try {
    const { stdout, stderr } = await run(process.execPath, [path.join(PROJECT_ROOT, 'bin', 'strata.mjs'), ...args], {
      env: { ...shell, STRATA_STATE_DIR: stack.stateDir, ...env },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('strata CLI', () => {
  it('status --json prints the stack for scripts', async () => {
    const result = await strata('status', '--json');
    expect(result.code).toBe(0);
    const status = JSON.parse(result.stdout);
    expect(status).toMatchObject({
      running: true,
      health: 'ok',
      apiUrl: stack.apiUrl,
      dbUrl: stack.dbUrl,
      s3Endpoint: stack.s3Endpoint,
      s3Bucket: stack.s3Bucket,
      anonKey: stack.anonKey,
      serviceRoleKey: stack.serviceRoleKey,
      jwtSecret: stack.jwtSecret,
    });
  });

  it('user create makes a user and a token the gateway and the database accept', async () => {
    const email = `cli-${Date.now()}@example.test`;
    const result = await strata('user', 'create', email, '--json');
    expect(result.code).toBe(0);
    const created = JSON.parse(result.stdout);
    expect(created).toMatchObject({ email, created: true });
    const [row] = await sql`select id from auth.users where email = ${email}`;
    expect(row?.id).toBe(created.id);
    const verdict = verifyJwt(created.access_token, stack.jwtSecret);
    expect(verdict.ok && verdict.claims).toMatchObject({ sub: created.id, role: 'authenticated' });
    const health = await fetch(`${stack.functionsUrl}/health`, { headers: { authorization: `Bearer ${created.access_token}` } });
    expect(health.status).toBe(200);

    const again = JSON.parse((await strata('user', 'create', email, '--json')).stdout);
    expect(again).toMatchObject({ id: created.id, created: false });
  });

  it('user create refuses an invalid e-mail with a stable code', async () => {
    const result = await strata('user', 'create', 'not-an-email', '--json');
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toEqual({ error: { code: 'invalid_email', message: expect.any(String) } });
  });

  it('a second start says the stack is already running and touches nothing', async () => {
    const result = await strata('start');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/already running \(pid \d+\)/);
    const status = await strata('status', '--json');
    expect(JSON.parse(status.stdout).pid).toBe(stack.pid);
  });

  it('user create --expires-in sets how long the token is valid', async () => {
    const before = Math.floor(Date.now() / 1000);
    const result = await strata('user', 'create', `cli-expiry-${Date.now()}@example.test`, '--expires-in', '120', '--json');
    expect(result.code, result.stderr).toBe(0);
    const { access_token: token, expires_at: expiresAt } = JSON.parse(result.stdout);
    expect(expiresAt - before).toBeGreaterThanOrEqual(119);
    expect(expiresAt - before).toBeLessThanOrEqual(125);
    const verdict = verifyJwt(token, stack.jwtSecret);
    expect(verdict.ok && verdict.claims.exp).toBe(expiresAt);
    expect((await strata('--help')).stdout).toContain('user create EMAIL [--expires-in SECONDS] [--json]');
  });
});

const LINE_OF_TARGET = new RegExp(`^target: local stack \\(database 127\\.0\\.0\\.1:\\d+/postgres\\), bucket ${stack.s3Bucket}$`, 'm');

describe('the target of an operations command', () => {
  it('is named on stderr in text and in --json as target; the AWS SDK prints no Node version warning', async () => {
    const text = await strata('storage', 'info');
    expect(text.code, text.stderr).toBe(0);
    expect(text.stderr).toMatch(LINE_OF_TARGET);
    expect(text.stderr).not.toContain('NodeVersionSupportWarning');
    expect(text.stdout).toMatch(new RegExp(`^ *bucket: ${stack.s3Bucket}$`, 'm'));

    const json = await strata('storage', 'info', '--json');
    expect(json.code, json.stderr).toBe(0);
    expect(json.stderr).toBe('');
    expect(JSON.parse(json.stdout).target).toEqual({
      kind: 'local stack',
      database: expect.stringMatching(/^127\.0\.0\.1:\d+\/postgres$/),
      bucket: stack.s3Bucket,
      prefix: null,
      from_shell: [],
      ignored_from_shell: [],
    });
    for (const args of [['archive', 'status'], ['jobs', 'status'], ['verify']]) {
      const result = await strata(...args, '--json');
      expect(JSON.parse(result.stdout).target, args.join(' ')).toMatchObject({ kind: 'local stack', bucket: stack.s3Bucket });
    }
  });

  it('is the local stack\'s database and bucket whatever S3 and database variables the shell holds; tuning ones come from the shell, and both are named', async () => {
    const shell = {
      S3_BUCKET_NAME: 'someone-elses-bucket',
      AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'not-the-stack-secret',
      S3_ENDPOINT: 'http://127.0.0.1:9',
      STRATA_DB_POOLER_URL: 'postgresql://nobody@127.0.0.1:9/postgres',
      S3_PREFIX: 'cli-target-test',
    };
    const json = await strataWith(shell, 'storage', 'info', '--json');
    expect(json.code, json.stdout + json.stderr).toBe(0);
    const info = JSON.parse(json.stdout);
    expect(info).toMatchObject({ bucket: stack.s3Bucket, prefix: 'cli-target-test' });
    expect(info.target).toMatchObject({
      kind: 'local stack',
      bucket: stack.s3Bucket,
      prefix: 'cli-target-test',
      from_shell: ['S3_PREFIX'],
      ignored_from_shell: ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'S3_BUCKET_NAME', 'S3_ENDPOINT', 'STRATA_DB_POOLER_URL'],
    });

    const text = await strataWith(shell, 'jobs', 'status');
    expect(text.code, text.stderr).toBe(0);
    expect(text.stderr).toMatch(new RegExp(`^target: local stack \\(database 127\\.0\\.0\\.1:\\d+/postgres\\), bucket ${stack.s3Bucket}/cli-target-test$`, 'm'));
    expect(text.stderr).toContain('\n  from the shell: S3_PREFIX\n');
    expect(text.stderr).toContain(
      '\n  ignored from the shell: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, S3_BUCKET_NAME, S3_ENDPOINT, STRATA_DB_POOLER_URL ' +
        "(the local stack's own are used; set SUPABASE_DB_URL to work on a deployment)\n",
    );
  });
});

/**
 * A BEFORE DELETE trigger (first by name) that makes every delete of this
 * user's conversations take `seconds`; the returned function removes it.
 */
async function slowDeletes(userId: string, seconds: number): Promise<() => Promise<void>> {
  await sql.unsafe(`
    create or replace function private.test_slow_delete() returns trigger language plpgsql set search_path = '' as $$
    begin perform pg_catalog.pg_sleep(${Number(seconds)}); return old; end $$;
    create or replace trigger aaa_test_slow_delete before delete on public.conversations
      for each row when (old.user_id = '${userId.replace(/[^0-9a-f-]/g, '')}') execute function private.test_slow_delete();`);
  return async () => {
    await sql.unsafe('drop trigger if exists aaa_test_slow_delete on public.conversations; drop function if exists private.test_slow_delete()');
  };
}

describe('progress on long work', () => {
  it('expire shows the conversations and batches committed as the sweep goes', async () => {
    const owner = await createUser(sql, 'cli-expire');
    const ids = await seedConversations(sql, owner.id, 10, 1);
    await sql`update conversations set expires_at = now() - interval '1 minute' where id = any(${ids}::uuid[])`;
    await sql`update private.settings set expiry_batch_size = 2, expiry_policy = 'archive'`;
    // 0.4 s per conversation: five batches of two take about four seconds.
    const fast = await slowDeletes(owner.id, 0.4);
    let result;
    try {
      result = await strata('expire');
    } finally {
      await fast();
      await sql`update private.settings set expiry_batch_size = 1000`;
    }
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(LINE_OF_TARGET);
    // Without a terminal: a line at the start, one every two seconds, one at the end.
    const during = result.stderr.split('\n').filter((line) => /^expiring \[[#.]{24}\] \d+\/\d+ conversations, \d+ batch(es)? committed$/.test(line));
    expect(during.length, result.stderr).toBeGreaterThanOrEqual(1);
    expect(result.stderr).toMatch(/^expiring \[\.{24}\] 0\/\d+ conversations$/m);
    const end = result.stderr.match(/^expiring (\d+) conversation\(s\) expired in (\d+) batches \(archive\)$/m);
    expect(end, result.stderr).not.toBeNull();
    expect(Number(end![1])).toBeGreaterThanOrEqual(10);
    expect(Number(end![2])).toBeGreaterThanOrEqual(5);
    expect(result.stdout).toMatch(new RegExp(`^ *expired: ${end![1]}$`, 'm'));
    await waitForArchived(sql, ids);
  });

  it('archive work shows the jobs finished so far, per kind', async () => {
    const owner = await createUser(sql, 'cli-work');
    const ids = await seedConversations(sql, owner.id, 6, 2);
    // This process is the only worker: the functions (and their worker) are stopped meanwhile.
    await control.killFunctions();
    let result;
    try {
      await deleteHeld(sql, ids);
      const fast = await slowDeletes(owner.id, 0.5);
      try {
        await release(sql, ids);
        // One at a time (a tuning variable from the shell), half a second each.
        result = await strataWith({ ARCHIVE_CONCURRENCY: '1' }, 'archive', 'work', '--budget', '60');
      } finally {
        await fast();
      }
    } finally {
      await control.startFunctions();
    }
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(LINE_OF_TARGET);
    expect(result.stderr).toContain('\n  from the shell: ARCHIVE_CONCURRENCY\n');
    expect(result.stderr).toMatch(/^working \[\.{24}\] 0\/\d+ jobs finished$/m);
    const during = result.stderr.split('\n').filter((line) =>
      /^working \[[#.]{24}\] \d+\/\d+ jobs finished \(done \d+ \(.*archive_conversation \d+\/\d+.*\), retrying \d+, dead \d+\)$/.test(line));
    expect(during.length, result.stderr).toBeGreaterThanOrEqual(1);
    const end = result.stderr.match(/^working claimed (\d+), done (\d+) \((.*)\), retrying (\d+), dead (\d+)$/m);
    expect(end, result.stderr).not.toBeNull();
    const archived = end![3]!.match(/archive_conversation (\d+)\/(\d+)/);
    expect(Number(archived![1])).toBeGreaterThanOrEqual(6);
    await waitForArchived(sql, ids);
  });
});

describe('migrate-local on a flat folder', () => {
  it('without --user imports nothing and says to pass --user; with it, imports the folder as that user', async () => {
    const user = await createUser(sql, 'cli-flat');
    const dir = await mkdtemp(path.join(tmpdir(), 'strata-flat-'));
    try {
      await writeFile(path.join(dir, 'notes.txt'), 'flat notes');
      await writeFile(path.join(dir, 'analysis_flat.json'), JSON.stringify({ summary: 'flat' }));

      const json = await strata('migrate-local', dir, '--json');
      expect(json.code).toBe(1);
      const { error } = JSON.parse(json.stdout);
      expect(error.code).toBe('user_required');
      expect(error.message).toContain(`strata migrate-local ${dir} --user USER_ID_OR_EMAIL`);
      const text = await strata('migrate-local', dir);
      expect(text.code).toBe(1);
      expect(text.stderr).toMatch(/^error: .* holds 2 file\(s\) and no folder named by a user id or e-mail/m);
      const [{ n }] = await sql`select (select count(*) from files where user_id = ${user.id}) + (select count(*) from analyses where user_id = ${user.id}) as n`;
      expect(Number(n)).toBe(0);

      const imported = await strata('migrate-local', dir, '--user', user.email, '--json');
      expect(imported.code, imported.stderr).toBe(0);
      expect(JSON.parse(imported.stdout)).toMatchObject({ imported: { files: 1, analyses: 1 }, verified: { ok: true } });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
