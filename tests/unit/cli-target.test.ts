// The CLI's target on the local stack: the stack's own database and S3
// settings whatever the shell says, tuning variables from the shell, and
// which is which said. The AWS SDK's Node version warning kept out of the
// CLI's output (a real Node process with the real SDK). And when the first
// npm start says it downloads the functions' dependencies.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { readS3Config } from '../../supabase/functions/_shared/config.ts';
import { isDenoCacheEmpty } from '../../src/cli/commands/start.ts';
import { PROJECT_ROOT } from '../../src/cli/project.ts';
import { describeDatabase, isTuningVariable, localTargetEnv } from '../../src/cli/target.ts';
import { isNodeVersionSupportWarning } from '../../src/cli/warnings.ts';

const STACK = {
  apiUrl: 'http://127.0.0.1:54321',
  anonKey: 'anon',
  serviceRoleKey: 'service',
  dbUrl: 'postgresql://postgres:postgres@127.0.0.1:54322/postgres',
  s3AccessKeyId: 'S3RVER',
  s3SecretAccessKey: 'S3RVER',
  s3Region: 'us-east-1',
  s3Bucket: 'strata-local',
  s3Endpoint: 'http://127.0.0.1:54330',
};

describe('the local stack as the CLI target', () => {
  it('keeps the stack\'s database and S3 whatever the shell says, and lists what it ignored', () => {
    const shell = {
      S3_BUCKET_NAME: 'prod-bucket',
      AWS_ACCESS_KEY_ID: 'AKIAPROD',
      AWS_SECRET_ACCESS_KEY: 'prod-secret',
      AWS_REGION: 'eu-west-1',
      S3_ENDPOINT: 'https://s3.eu-west-1.amazonaws.com',
      S3_SSE: 'aws:kms',
      STRATA_DB_POOLER_URL: 'postgresql://prod@pooler:6543/postgres',
      PATH: '/usr/bin',
    };
    const { env, ignored, fromShell } = localTargetEnv(STACK, shell);
    expect(readS3Config(env)).toMatchObject({
      configured: true,
      bucket: 'strata-local',
      region: 'us-east-1',
      endpoint: 'http://127.0.0.1:54330',
      sse: 'none',
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    expect(env('SUPABASE_DB_URL')).toBe(STACK.dbUrl);
    expect(env('STRATA_DB_POOLER_URL')).toBeUndefined();
    expect(env('PATH')).toBeUndefined();
    expect(ignored).toEqual(['AWS_ACCESS_KEY_ID', 'AWS_REGION', 'AWS_SECRET_ACCESS_KEY', 'S3_BUCKET_NAME', 'S3_ENDPOINT', 'S3_SSE', 'STRATA_DB_POOLER_URL']);
    expect(fromShell).toEqual([]);
  });

  it('takes tuning variables from the shell and names them', () => {
    const shell = { S3_PREFIX: 'tenant-a', ARCHIVE_CONCURRENCY: '2', WORKER_CPU_BUDGET_MS: '900', LIFECYCLE_ABORT_MULTIPART_DAYS: '3', S3_REQUEST_TIMEOUT_MS: '' };
    const { env, ignored, fromShell } = localTargetEnv(STACK, shell);
    expect(readS3Config(env)).toMatchObject({ bucket: 'strata-local', prefix: 'tenant-a', requestTimeoutMs: 30000 });
    expect(env('ARCHIVE_CONCURRENCY')).toBe('2');
    expect(fromShell).toEqual(['ARCHIVE_CONCURRENCY', 'LIFECYCLE_ABORT_MULTIPART_DAYS', 'S3_PREFIX', 'WORKER_CPU_BUDGET_MS']);
    expect(ignored).toEqual([]);
  });

  it('does not call a shell variable that says the same as the stack ignored', () => {
    expect(localTargetEnv(STACK, { S3_BUCKET_NAME: 'strata-local' }).ignored).toEqual([]);
  });

  it.each([
    ['S3_PREFIX', true],
    ['S3_REQUEST_TIMEOUT_MS', true],
    ['ARCHIVE_BUDGET_SECONDS', true],
    ['FILES_MAX_BYTES', true],
    ['S3_BUCKET_NAME', false],
    ['S3_ENDPOINT', false],
    ['AWS_ACCESS_KEY_ID', false],
    ['SUPABASE_DB_URL', false],
    ['STRATA_DB_POOLER_URL', false],
  ])('%s is a tuning variable: %s', (name, tuning) => {
    expect(isTuningVariable(name)).toBe(tuning);
  });

  it.each([
    ['postgresql://postgres:secret@db.example.supabase.co:5432/postgres', 'db.example.supabase.co:5432/postgres'],
    ['postgresql://postgres:postgres@127.0.0.1:54322/postgres', '127.0.0.1:54322/postgres'],
    [undefined, '(not set)'],
    ['not a url', '(not a URL)'],
  ])('describes the database %s as %s, never with its password', (url, shown) => {
    expect(describeDatabase(url)).toBe(shown);
  });
});

describe("the AWS SDK's NodeVersionSupportWarning", () => {
  it('is recognised by its name or by its message (the SDK emits a plain Warning)', () => {
    const plain = new Error('NodeVersionSupportWarning: The AWS SDK for JavaScript (v3)\nversions published after…');
    plain.name = 'Warning';
    const named = new Error('The AWS SDK …');
    named.name = 'NodeVersionSupportWarning';
    const other = new Error('something else');
    other.name = 'Warning';
    expect([plain, named, other].map(isNodeVersionSupportWarning)).toEqual([true, true, false]);
  });

  const run = promisify(execFile);
  const node = (script: string) =>
    run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: PROJECT_ROOT, env: { ...process.env, NODE_OPTIONS: '' } });
  const S3 = `const { S3Client } = await import('@aws-sdk/client-s3'); new S3Client({ region: 'us-east-1' }); process.emitWarning('another warning');`;

  it('stays out of the output once quieted; other warnings still print', async () => {
    const quiet = await node(`const { quietNodeVersionSupportWarning } = await import('./src/cli/warnings.ts'); quietNodeVersionSupportWarning(); ${S3}`);
    expect(quiet.stderr).not.toContain('NodeVersionSupportWarning');
    expect(quiet.stderr).toContain('Warning: another warning');
    // The SDK does warn on this Node, so the check above is not vacuous.
    if (Number(process.versions.node.split('.')[0]) < 22) expect((await node(S3)).stderr).toContain('NodeVersionSupportWarning');
  });
});

describe("the first npm start's download", () => {
  it('is announced while Deno has no npm package cached (a missing or fresh cache), not after', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'strata-deno-'));
    try {
      expect(await isDenoCacheEmpty(path.join(dir, 'missing'))).toBe(true);
      expect(await isDenoCacheEmpty(dir)).toBe(true);
      // deno check leaves its own caches beside: still nothing downloaded.
      await mkdir(path.join(dir, 'gen'));
      await mkdir(path.join(dir, 'npm'));
      expect(await isDenoCacheEmpty(dir)).toBe(true);
      await mkdir(path.join(dir, 'npm', 'registry.npmjs.org'));
      expect(await isDenoCacheEmpty(dir)).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
