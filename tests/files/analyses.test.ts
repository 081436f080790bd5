// Analysis documents: stored in S3 under analysis/{yyyy}/{mm}/{user}/{id}.json
// with size and sha256 in the row, read back verified, listed, deleted S3-first.
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalizeStoredRef } from '../../supabase/functions/_shared/s3/refs.ts';
import { api, tokenFor, waitUntil } from '../helpers/archive.ts';
import { connect, createUser, type Sql } from '../helpers/db.ts';
import { directS3 } from '../helpers/s3.ts';

let sql: Sql;
let owner: { id: string; email: string };
let token: string;
beforeAll(async () => {
  sql = connect();
  owner = await createUser(sql, 'analyses');
  token = tokenFor(owner);
});
afterAll(() => sql.end());

describe('analyses API', () => {
  it('stores, loads (verified), lists by kind and conversation, and deletes S3-first', async () => {
    const [conversation] = await sql`insert into conversations (user_id, title) values (${owner.id}, 'analysed') returning id`;
    const conversationId: string = conversation!.id;
    const data = { summary: 'Kunde möchte Rückerstattung ✓', scores: [0.1, 0.9], nested: { ok: true } };
    const created = await api('/analyses', { token, method: 'POST', body: { kind: 'repair_plan', conversation_id: conversationId, data } });
    expect(created.status, created.text).toBe(201);
    const analysis = created.body.analysis;
    const now = new Date();
    expect(analysis.s3_key).toBe(`analysis/${now.getUTCFullYear()}/${String(now.getUTCMonth() + 1).padStart(2, '0')}/${owner.id}/${analysis.id}.json`);
    expect(analysis).toMatchObject({ status: 'stored', kind: 'repair_plan', size: expect.any(Number), sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });

    const loaded = await api(`/analyses/${analysis.id}`, { token });
    expect(loaded.body.data).toEqual(data);
    await api('/analyses', { token, method: 'POST', body: { kind: 'transcript', data: [{ speaker: 'a', text: 'hi' }] } });
    const byKind = await api('/analyses?kind=repair_plan', { token });
    expect(byKind.body.analyses.map((a: { id: string }) => a.id)).toEqual([analysis.id]);
    const byConversation = await api(`/analyses?conversation_id=${conversationId}`, { token });
    expect(byConversation.body.analyses).toHaveLength(1);

    const stranger = tokenFor(await createUser(sql, 'analyses-stranger'));
    expect((await api(`/analyses/${analysis.id}`, { token: stranger })).status).toBe(404);
    expect((await api(`/analyses/${analysis.id}`, { token: stranger, method: 'DELETE' })).status).toBe(404);

    expect((await api(`/analyses/${analysis.id}`, { token, method: 'DELETE' })).status).toBe(202);
    expect((await api(`/analyses/${analysis.id}`, { token })).status).toBe(404);
    await waitUntil('the delete', async () => (await sql`select 1 from analyses where id = ${analysis.id}`).length === 0, 30_000);
    const { s3, bucket } = directS3();
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: analysis.s3_key })).catch((e) => e);
    expect(head.$metadata?.httpStatusCode).toBe(404);
  });

  it('refuses a document whose object no longer matches its sha256', async () => {
    const created = await api('/analyses', { token, method: 'POST', body: { kind: 'analysis', data: { a: 1 } } });
    const { s3, bucket } = directS3();
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: created.body.analysis.s3_key, Body: '{"a":2}' }));
    const loaded = await api(`/analyses/${created.body.analysis.id}`, { token });
    expect(loaded.status).toBe(422);
    expect(loaded.body.error.code).toBe('checksum_mismatch');
  });

  it.each([
    [{ kind: 'Bad Kind', data: {} }, 400, 'invalid_request'],
    [{ kind: 'analysis' }, 400, 'invalid_request'],
    [{ kind: 'analysis', data: {}, extra: 1 }, 400, 'invalid_request'],
    [{ kind: 'analysis', conversation_id: 'nope', data: {} }, 400, 'invalid_request'],
    [{ kind: 'analysis', data: 'x'.repeat(6 * 1024 * 1024) }, 413, 'payload_too_large'],
  ])('refuses %j', async (body, status, code) => {
    const result = await api('/analyses', { token, method: 'POST', body });
    expect(result.status).toBe(status);
    expect(result.body.error.code).toBe(code);
  });
});

describe('stored references', () => {
  const config = { bucket: 'strata-prod', prefix: '' };
  const key = `analysis/2025/01/${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}/${'1'.repeat(8)}-1111-4111-8111-${'1'.repeat(12)}.json`;

  it.each([
    [`s3://strata-prod/${key}`, key],
    [key, key],
    [`/${key}`, key],
    [key.replace('analysis/', ''), key],
    ['files/u/f/name.pdf', 'files/u/f/name.pdf'],
  ])('normalizes %s', (ref, expected) => {
    expect(normalizeStoredRef(ref, config)).toBe(expected);
  });

  it('keeps the prefix', () => {
    expect(normalizeStoredRef(key.replace('analysis/', ''), { bucket: 'b', prefix: 'env/prod' })).toBe(`env/prod/${key}`);
    expect(normalizeStoredRef(`env/prod/${key}`, { bucket: 'b', prefix: 'env/prod' })).toBe(`env/prod/${key}`);
  });

  it.each(['s3://other-bucket/files/a/b/c', 'files/../secrets', '../../etc/passwd', 'random/key.json', 'files//double'])('refuses %s', (ref) => {
    expect(() => normalizeStoredRef(ref, config)).toThrow();
  });
});
