// Listings past one page (1,000 keys) through the local S3, and what verify
// reports when a folder cannot be listed: s3rver's own continuation tokens
// need single DES, which Node's OpenSSL 3 refuses (src/dev/s3rver-tokens.ts),
// and verify used to count every row under an unlisted folder as missing.
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { inPool } from '../../supabase/functions/_shared/pool.ts';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { analysisKey, analysisRoot, archiveKey, fileKey, userPrefixes } from '../../supabase/functions/_shared/s3/keys.ts';
import { deleteEverything, listKeys } from '../../supabase/functions/_shared/s3/objects.ts';
import { runEdgeWorker, waitUntil } from '../helpers/archive.ts';
import { control } from '../helpers/control.ts';
import { connect, createUser, type Sql } from '../helpers/db.ts';
import { directS3 } from '../helpers/s3.ts';
import { functionsEnvOf } from '../../src/dev/state.ts';

const stack = inject('stack');
/** The test stack sets no S3_PREFIX (tests/setup/stack.ts), so keys start at the bucket's root. */
const PREFIX = '';
let sql: Sql;
beforeAll(() => {
  sql = connect();
});
afterAll(() => sql.end());

/**
 * The CLI against the test stack; `env` adds variables. On the local stack the
 * CLI uses the stack's own database and S3 whatever the shell says, so a run
 * through the fault proxy names the stack as a deployment (throughProxy).
 */
function strata(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(process.execPath, ['bin/strata.mjs', ...args], { env: { ...process.env, STRATA_STATE_DIR: stack.stateDir, ...env }, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

/** Puts small objects straight to the S3 server, a few at a time. */
async function putAll(keys: string[], concurrency = 16): Promise<void> {
  const { s3, bucket } = directS3();
  await inPool(keys, concurrency, async (key) => void (await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'x' }))));
}

async function keysUnder(prefix: string): Promise<string[]> {
  const { s3, bucket } = directS3();
  const keys: string[] = [];
  for await (const object of listKeys(s3, bucket, prefix)) keys.push(object.key);
  return keys;
}

describe('more than 1,000 objects under one prefix, through the local S3', () => {
  // One user's 1,010 files (one page is 1,000 keys), shared by the listing and
  // the erasure test: S3 puts are the slow part here.
  let owner: { id: string; email: string };
  let filesPrefix: string;
  let files: string[];
  beforeAll(async () => {
    owner = await createUser(sql, 'many-objects');
    filesPrefix = `files/${owner.id}/`;
    files = Array.from({ length: 1_010 }, (_, i) => fileKey(PREFIX, owner.id, randomUUID(), `upload-${i}.pdf`));
    await putAll(files);
  });
  afterAll(async () => {
    const { s3, bucket } = directS3();
    for (const prefix of userPrefixes(PREFIX, owner.id)) await deleteEverything(s3, bucket, { prefix });
  });

  it('pages with continuation tokens, and verify counts every object', async () => {
    const prefix = filesPrefix;
    // Page by page, as the SDK would: the second page needs a continuation token.
    const { s3, bucket } = directS3();
    const first = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
    expect(first).toMatchObject({ IsTruncated: true, KeyCount: 1_000 });
    expect(first.NextContinuationToken).toEqual(expect.any(String));
    const second = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: first.NextContinuationToken }));
    expect(second).toMatchObject({ IsTruncated: false, KeyCount: 10, ContinuationToken: first.NextContinuationToken });
    expect(second.NextContinuationToken).toBeUndefined();
    expect((await keysUnder(prefix)).sort()).toEqual([...files].sort());
    // A token this server did not issue is refused, as S3 does.
    await expect(s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: 'bm90IGEgdG9rZW4=' }))).rejects.toMatchObject({
      name: 'InvalidArgument',
      $metadata: { httpStatusCode: 400 },
    });

    const result = await strata(['verify', '--json']);
    const report = JSON.parse(result.stdout);
    expect(report.unlistable, result.stderr).toEqual([]);
    expect(report.unchecked_rows).toBe(0);
    expect(report.objects).toBeGreaterThanOrEqual(files.length);
    const orphans = new Set(report.orphans.map((o: { key: string }) => o.key));
    expect(files.filter((key) => !orphans.has(key))).toEqual([]);
  });

  it('erasing the user deletes every object under their prefixes, past the first page', async () => {
    const archives = Array.from({ length: 20 }, () => archiveKey(PREFIX, owner.id, randomUUID(), randomUUID()));
    await putAll(archives);
    expect(await keysUnder(filesPrefix)).toHaveLength(files.length);

    await sql`delete from auth.users where id = ${owner.id}`;
    // Drain now rather than wait for the scheduler; another worker may hold the job, so wait for it too.
    await runEdgeWorker();
    await waitUntil('the erasure job', async () => {
      const [job] = await sql`select status from private.jobs where kind = 'erase_user_objects' and subject_id = ${owner.id}`;
      return job?.status === 'done';
    });
    for (const prefix of userPrefixes(PREFIX, owner.id)) expect(await keysUnder(prefix), prefix).toEqual([]);
  });
});

describe('verify when a folder cannot be listed', () => {
  it('reports the rows under it as unchecked (not missing), in JSON and in text, and exits 2 unless something is wrong', async () => {
    const user = await createUser(sql, 'unchecked');
    const { s3, bucket } = directS3();
    // Two analysis rows: one whose object is there, one whose object is really gone.
    const present = { id: randomUUID(), body: '{"ok":true}' };
    const gone = { id: randomUUID() };
    const presentKey = analysisKey(PREFIX, user.id, present.id, new Date());
    const goneKey = analysisKey(PREFIX, user.id, gone.id, new Date());
    const presentSha = createHash('sha256').update(present.body).digest('hex');
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: presentKey, Body: present.body, Metadata: { sha256: presentSha } }));
    await sql`insert into analyses (id, user_id, kind, s3_key, size, sha256, status) values
      (${present.id}, ${user.id}, 'analysis', ${presentKey}, ${present.body.length}, ${presentSha}, 'stored'),
      (${gone.id}, ${user.id}, 'analysis', ${goneKey}, 2, ${'c'.repeat(64)}, 'stored')`;

    // The CLI goes through the fault proxy, which answers 500 to every listing of analysis/.
    const root = analysisRoot(PREFIX);
    const throughProxy = { ...functionsEnvOf(stack), S3_ENDPOINT: inject('functionsS3Endpoint') };
    await control.proxy('pass', `prefix=${encodeURIComponent(root)}`);
    let json: { code: number; stdout: string; stderr: string };
    let text: { code: number; stdout: string; stderr: string };
    try {
      [json, text] = await Promise.all([strata(['verify', '--json'], throughProxy), strata(['verify'], throughProxy)]);
    } finally {
      await control.proxy('pass');
    }
    try {
      const report = JSON.parse(json.stdout);
      expect(report.unlistable, json.stderr).toEqual([{ prefix: root, reason: expect.stringMatching(/ListObjectsV2 failed: InternalError \(HTTP 500\)/), unchecked_rows: expect.any(Number) }]);
      const missingKeys = report.missing.map((m: { key: string }) => m.key);
      expect(missingKeys).not.toContain(presentKey);
      expect(missingKeys).not.toContain(goneKey);
      expect(report.unchecked).toContainEqual({ table: 'analyses', id: present.id, key: presentKey, prefix: root, reason: report.unlistable[0].reason });
      expect(report.unchecked).toContainEqual({ table: 'analyses', id: gone.id, key: goneKey, prefix: root, reason: report.unlistable[0].reason });
      expect(report.unchecked_rows).toBe(report.unchecked.length);
      expect(report.unlistable[0].unchecked_rows).toBe(report.unchecked.length);
      // 1 when something is known to be wrong, else 2: the check was incomplete.
      const wrong = report.missing.length + report.mismatched.length + report.orphans.length - report.young_orphans - report.deleted_orphans;
      expect(json.code).toBe(wrong > 0 ? 1 : 2);
      expect(text.code).toBe(json.code);
      expect(text.stdout).toMatch(new RegExp(`unchecked rows: ${report.unchecked_rows}\\b`));
      expect(text.stdout).toMatch(new RegExp(`unlistable ${root}: .*ListObjectsV2 failed.* \\(${report.unchecked_rows} rows? unchecked\\)`));

      // With the folder readable again, the same rows are checked: one is fine, one is missing.
      const after = JSON.parse((await strata(['verify', '--json'])).stdout);
      expect(after.unlistable).toEqual([]);
      expect(after.unchecked).toEqual([]);
      expect(after.missing).toContainEqual({ table: 'analyses', id: gone.id, key: goneKey });
      expect(after.missing.map((m: { key: string }) => m.key)).not.toContain(presentKey);
      expect(after.mismatched.map((m: { key: string }) => m.key)).not.toContain(presentKey);
    } finally {
      for (const id of [present.id, gone.id]) {
        await sql.begin(async (tx) => {
          await tx`select private.open_gate('delete_analysis', ${id})`;
          await tx`delete from analyses where id = ${id}`;
        });
      }
      await deleteEverything(s3, bucket, { key: presentKey });
    }
  });
});

describe('verify --fix', () => {
  it('says how many orphans the grace period kept', async () => {
    const user = await createUser(sql, 'young-orphan');
    const key = fileKey(PREFIX, user.id, randomUUID(), 'in-flight.pdf');
    const { s3, bucket } = directS3();
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'young' }));
    try {
      const json = JSON.parse((await strata(['verify', '--fix', '--json'])).stdout);
      expect(json.orphans.map((o: { key: string }) => o.key)).toContain(key);
      expect(json).toMatchObject({ grace_hours: 24, deleted_orphans: 0, young_orphans: expect.any(Number) });
      expect(json.young_orphans).toBeGreaterThanOrEqual(1);
      const text = await strata(['verify', '--fix']);
      expect(text.stdout).toMatch(new RegExp(`kept ${json.young_orphans} orphans? younger than the 24-hour grace period`));
      expect(await keysUnder(key)).toEqual([key]);
    } finally {
      await deleteEverything(s3, bucket, { key });
    }
  });
});
