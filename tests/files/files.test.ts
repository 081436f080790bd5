// Files: presigned uploads straight to S3, the completion checks, processing,
// names that cannot reach the key, ownership, and the S3-first delete.
import { HeadObjectCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { api, tokenFor, waitUntil } from '../helpers/archive.ts';
import { control } from '../helpers/control.ts';
import { connect, createUser, type Sql } from '../helpers/db.ts';
import { makePdf, PNG_BYTES } from '../helpers/pdf.ts';
import { directS3 } from '../helpers/s3.ts';

let sql: Sql;
let owner: { id: string; email: string };
let token: string;
beforeAll(async () => {
  sql = connect();
  owner = await createUser(sql, 'files');
  token = tokenFor(owner);
});
afterEach(async () => {
  await control.startS3();
});
afterAll(() => sql.end());

const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

async function presign(name: string, contentType: string, bytes: Uint8Array, extra: Record<string, unknown> = {}) {
  const created = await api('/files', { token, method: 'POST', body: { name, content_type: contentType, size: bytes.length, ...extra } });
  expect(created.status, created.text).toBe(201);
  return created.body as { file: { id: string; s3_key: string; status: string; name: string }; upload: { url: string; headers: Record<string, string> } };
}

async function put(upload: { url: string; headers: Record<string, string> }, bytes: Uint8Array, headers: Record<string, string> = {}) {
  return fetch(upload.url, { method: 'PUT', headers: { ...upload.headers, ...headers }, body: new Blob([new Uint8Array(bytes)]) });
}

async function fileRow(id: string) {
  const [row] = await sql`select * from files where id = ${id}`;
  return row;
}

describe('presigned uploads', () => {
  it('uploads a PDF straight to S3, completes it, and processing counts its pages and words', async () => {
    const pdf = makePdf(['The quick brown fox jumps over the lazy dog', 'and the dog was not amused by this at all']);
    const { file, upload } = await presign('Profile.pdf', 'application/pdf', pdf, { sha256: sha(pdf) });
    expect(file.status).toBe('pending_upload');
    expect(file.s3_key).toBe(`files/${owner.id}/${file.id}/Profile.pdf`);
    expect(upload.url).toContain('X-Amz-Signature');
    const early = await api(`/files/${file.id}/complete`, { token, method: 'POST' });
    expect(early.status).toBe(409);
    expect(early.body.error.code).toBe('upload_missing');

    expect((await put(upload, pdf)).status).toBe(200);
    const completed = await api(`/files/${file.id}/complete`, { token, method: 'POST' });
    expect(completed.status, completed.text).toBe(200);
    expect(completed.body.file.status).toBe('uploaded');

    await waitUntil('processing', async () => (await fileRow(file.id))!.status === 'processed', 30_000);
    const row = await fileRow(file.id);
    expect(row).toMatchObject({ page_count: 2, word_count: 19, language: 'en', document_type: 'pdf', error: null });
    const { s3, bucket } = directS3();
    const extracted = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: `files/${owner.id}/${file.id}/extracted.txt` }));
    expect(await extracted.Body!.transformToString()).toContain('quick brown fox');

    const fetched = await api(`/files/${file.id}`, { token });
    expect(fetched.body.file.id).toBe(file.id);
    const download = await fetch(fetched.body.download.url);
    expect(new Uint8Array(await download.arrayBuffer())).toEqual(pdf);
  });

  it('refuses a PUT whose length differs from the signed one, or a completion whose object differs', async () => {
    const text = new TextEncoder().encode('hello world, this is a note');
    const { file, upload } = await presign('note.txt', 'text/plain', text);
    const longer = new TextEncoder().encode('hello world, this is a longer note than declared');
    const response = await put(upload, longer);
    if (response.ok) {
      // Some S3 servers accept it; the completion check must then catch it.
      const completed = await api(`/files/${file.id}/complete`, { token, method: 'POST' });
      expect(completed.status).toBe(422);
      expect(completed.body.error.code).toBe('upload_rejected');
    } else {
      expect(response.status).toBe(403);
    }
    expect((await fileRow(file.id))!.status).not.toBe('uploaded');
  });

  it('rejects a spoofed type (a PNG named .pdf): the row fails with a clear error and the object is removed', async () => {
    const { file, upload } = await presign('photo.pdf', 'application/pdf', PNG_BYTES);
    expect((await put(upload, PNG_BYTES)).status).toBe(200);
    const completed = await api(`/files/${file.id}/complete`, { token, method: 'POST' });
    expect(completed.status).toBe(422);
    expect(completed.body.error).toMatchObject({ code: 'upload_rejected', details: { reason: 'its content is not application/pdf' } });
    expect(await fileRow(file.id)).toMatchObject({ status: 'failed', error: expect.stringContaining('not application/pdf') });
    const { s3, bucket } = directS3();
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: file.s3_key })).catch((e) => e);
    expect(head.$metadata?.httpStatusCode).toBe(404);
  });

  it('rejects a wrong sha256', async () => {
    const text = new TextEncoder().encode('{"a": 1}');
    const { file, upload } = await presign('doc.json', 'application/json', text, { sha256: 'a'.repeat(64) });
    await put(upload, text);
    const completed = await api(`/files/${file.id}/complete`, { token, method: 'POST' });
    expect(completed.status).toBe(422);
    expect(completed.body.error.details.reason).toContain('sha256');
  });

  it.each([
    '../../etc/passwd',
    '..\\..\\windows\\system32.txt',
    'résumé – 日本語 📄.txt',
    'control\u0000\u0007chars\n.txt',
    `${'long-name-'.repeat(60)}.txt`,
    '....',
  ])('keeps the name %j out of the key', async (name) => {
    const { file } = await presign(name, 'text/plain', new TextEncoder().encode('x'));
    const segment = file.s3_key.split('/').pop()!;
    expect(file.s3_key.startsWith(`files/${owner.id}/${file.id}/`)).toBe(true);
    expect(file.s3_key.split('/')).toHaveLength(4);
    expect(segment).toMatch(/^[A-Za-z0-9._-]{1,100}$/);
    expect(segment).not.toMatch(/^\.+$/);
    expect(file.name).not.toMatch(/[\u0000-\u001f]/);
  });

  it.each([
    [{ name: 'x.exe', content_type: 'application/x-msdownload', size: 10 }, 415, 'unsupported_media_type'],
    [{ name: 'big.pdf', content_type: 'application/pdf', size: 51 * 1024 * 1024 }, 413, 'payload_too_large'],
    [{ name: 'x.pdf', content_type: 'application/pdf', size: 0 }, 400, 'invalid_request'],
    [{ name: 'x.pdf', content_type: 'application/pdf', size: 10, owner: 'me' }, 400, 'invalid_request'],
    [{ name: '', content_type: 'application/pdf', size: 10 }, 400, 'invalid_request'],
    [{ name: 'x.pdf', content_type: 'application/pdf', size: 10, sha256: 'nothex' }, 400, 'invalid_request'],
  ])('refuses %j with %i %s and creates nothing', async (body, status, code) => {
    const [{ before }] = await sql`select count(*)::int as before from files where user_id = ${owner.id}`;
    const result = await api('/files', { token, method: 'POST', body });
    expect(result.status).toBe(status);
    expect(result.body.error.code).toBe(code);
    const [{ after }] = await sql`select count(*)::int as after from files where user_id = ${owner.id}`;
    expect(after).toBe(before);
  });

  it('accepts a small file posted to the function directly', async () => {
    const form = new FormData();
    form.append('file', new Blob(['Ein kurzer Text und das ist nicht alles, was wir haben'], { type: 'text/plain' }), 'notiz.txt');
    const { functionsUrl } = (await import('vitest')).inject('stack');
    const response = await fetch(`${functionsUrl}/files`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
    const body = await response.json();
    expect(response.status, JSON.stringify(body)).toBe(201);
    expect(body.file).toMatchObject({ status: 'uploaded', name: 'notiz.txt' });
    await waitUntil('processing', async () => (await fileRow(body.file.id))!.status === 'processed', 30_000);
    expect(await fileRow(body.file.id)).toMatchObject({ language: 'de', word_count: 11 });
  });
});

describe('abandoned uploads', () => {
  it('removes rows whose upload never arrived, after a day, the S3-first way', async () => {
    const { file } = await presign('never.txt', 'text/plain', new TextEncoder().encode('x'));
    const { file: fresh } = await presign('soon.txt', 'text/plain', new TextEncoder().encode('y'));
    await sql`update files set created_at = now() - interval '2 days' where id = ${file.id}`;
    const [{ removed }] = await sql`select private.expire_abandoned_uploads() as removed`;
    expect(removed).toBeGreaterThanOrEqual(1);
    await waitUntil('the abandoned row to go', async () => !(await fileRow(file.id)), 30_000);
    expect(await fileRow(fresh.id)).toMatchObject({ status: 'pending_upload', deleted_at: null });
  });

  it('refuses a direct upload whose bytes are not the declared type, storing nothing', async () => {
    const [{ before }] = await sql`select count(*)::int as before from files where user_id = ${owner.id}`;
    const form = new FormData();
    form.append('file', new Blob([PNG_BYTES], { type: 'application/pdf' }), 'fake.pdf');
    const { functionsUrl } = (await import('vitest')).inject('stack');
    const response = await fetch(`${functionsUrl}/files`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
    expect(response.status).toBe(422);
    expect((await response.json()).error.code).toBe('upload_rejected');
    const [{ after }] = await sql`select count(*)::int as after from files where user_id = ${owner.id}`;
    expect(after).toBe(before);
  });
});

describe('ownership and listing', () => {
  it("answers 404 for another user's file and 400 for an invalid id", async () => {
    const { file } = await presign('mine.txt', 'text/plain', new TextEncoder().encode('x'));
    const stranger = tokenFor(await createUser(sql, 'stranger'));
    for (const [method, path] of [['GET', ''], ['POST', '/complete'], ['DELETE', '']] as const) {
      const result = await api(`/files/${file.id}${path}`, { token: stranger, method });
      expect(result.status, `${method} ${path}`).toBe(404);
    }
    expect((await api('/files/not-a-uuid', { token })).status).toBe(400);
    expect(await fileRow(file.id)).toMatchObject({ deleted_at: null });
  });

  it('lists files newest first, filtered by status', async () => {
    const listed = await api('/files?status=failed&limit=50', { token });
    expect(listed.status).toBe(200);
    expect(listed.body.files.length).toBeGreaterThan(0);
    expect(listed.body.files.every((f: { status: string }) => f.status === 'failed')).toBe(true);
    expect((await api('/files?status=bogus', { token })).status).toBe(400);
  });
});

describe('S3-first delete', () => {
  it('with the S3 server stopped, the row stays and the job retries; after a restart both are gone', async () => {
    const text = new TextEncoder().encode('to be deleted');
    const { file, upload } = await presign('gone.txt', 'text/plain', text);
    await put(upload, text);
    await api(`/files/${file.id}/complete`, { token, method: 'POST' });
    await waitUntil('processing', async () => (await fileRow(file.id))!.status === 'processed', 30_000);

    await control.stopS3();
    const deleted = await api(`/files/${file.id}`, { token, method: 'DELETE' });
    expect(deleted.status).toBe(202);
    expect((await api(`/files/${file.id}`, { token })).status).toBe(404);
    await waitUntil('a failed delete attempt', async () => {
      const [job] = await sql`select attempts, last_error from private.jobs where kind = 'delete_file' and subject_id = ${file.id}`;
      return Boolean(job?.last_error);
    });
    expect(await fileRow(file.id)).toMatchObject({ deleted_at: expect.any(Date) });

    await control.startS3();
    await waitUntil('the delete to finish', async () => !(await fileRow(file.id)), 60_000);
    const { s3, bucket } = directS3();
    for (const key of [file.s3_key, `files/${owner.id}/${file.id}/extracted.txt`]) {
      const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).catch((e) => e);
      expect(head.$metadata?.httpStatusCode).toBe(404);
    }
  });
});

describe('what complete verified stays', () => {
  it('a second PUT to the same upload URL after complete never replaces the verified object', async () => {
    const original = new TextEncoder().encode('verified text, exactly this');
    const forged = new TextEncoder().encode('FORGED text, exactly this!!');
    expect(forged.length).toBe(original.length);
    const { file, upload } = await presign('notes.txt', 'text/plain', original, { sha256: sha(original) });
    expect((await put(upload, original)).status).toBe(200);
    const completed = await api(`/files/${file.id}/complete`, { token, method: 'POST' });
    expect(completed.status, completed.text).toBe(200);
    // The URL is still valid for an hour; the bytes land in the staging key only.
    expect((await put(upload, forged)).status).toBe(200);
    expect((await api(`/files/${file.id}/complete`, { token, method: 'POST' })).body.file.status).not.toBe('pending_upload');
    const { s3, bucket } = directS3();
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: file.s3_key }));
    expect(sha(await object.Body!.transformToByteArray())).toBe(sha(original));
  });

  it('refuses new uploads past the per-user quota of pending uploads with 409 quota_exceeded', async () => {
    const quotaUser = await createUser(sql, 'files-quota');
    const quotaToken = tokenFor(quotaUser);
    const [saved] = await sql`select max_pending_uploads from private.settings`;
    try {
      await sql`update private.settings set max_pending_uploads = 2`;
      const body = { name: 'a.txt', content_type: 'text/plain', size: 10 };
      for (let i = 0; i < 2; i++) expect((await api('/files', { token: quotaToken, method: 'POST', body })).status).toBe(201);
      const third = await api('/files', { token: quotaToken, method: 'POST', body });
      expect(third.status).toBe(409);
      expect(third.body.error.code).toBe('quota_exceeded');
      expect(third.body.error.message).toMatch(/pending uploads/);
      expect(await sql`select 1 from files where user_id = ${quotaUser.id}`).toHaveLength(2);
    } finally {
      await sql`update private.settings set max_pending_uploads = ${saved!.max_pending_uploads}`;
      await sql`delete from auth.users where id = ${quotaUser.id}`;
    }
  });
});
