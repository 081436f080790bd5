// Large conversations (an Edge Function instance has 256 MB): export and
// archive reads stream instead of building the document in memory, a
// corrupted large archive breaks the transfer instead of completing a wrong
// document, and restore above ARCHIVE_RESTORE_MAX_BYTES answers 413 naming
// the CLI, which restores it byte for byte.
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/cli/project.ts';
import { createArchiveHandler } from '../../supabase/functions/_shared/archive/api.ts';
import { createConversationsHandler } from '../../supabase/functions/_shared/conversations/api.ts';
import { createSql } from '../../supabase/functions/_shared/db/client.ts';
import { api, deleteHeld, functionEnv, release, runLocalWorker, seedConversations, tokenFor, waitForArchived } from '../helpers/archive.ts';
import { connect, createUser, type Sql } from '../helpers/db.ts';
import { directS3 } from '../helpers/s3.ts';

// About 10 MB of JSON: above the default ARCHIVE_READ_VERIFY_MAX_BYTES (8 MiB),
// so the functions process streams it.
const MESSAGES = 30_000;

const stack = inject('stack');
const run = promisify(execFile);
const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');

let sql: Sql;
let owner: { id: string; email: string };
let other: { id: string; email: string };
let token: string;
let id: string;
/** The export before the conversation was deleted. */
let exported: string;
/** The archive as GET returned it. */
let archived: string;

/** The document split where its parts differ legitimately (deleted_at, archived_at). */
function parts(document: string) {
  const messagesAt = document.indexOf(',"messages":[');
  const metadataAt = document.lastIndexOf('],"archive_metadata":');
  return {
    conversation: JSON.parse(document.slice(document.indexOf('"conversation":') + '"conversation":'.length, messagesAt)),
    messages: document.slice(messagesAt, metadataAt),
    metadata: JSON.parse(document.slice(metadataAt + '],"archive_metadata":'.length, -1)),
    beforeMetadata: document.slice(0, metadataAt),
  };
}

async function strata(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  // The local stack (the test stack's state directory), not a deployment.
  const { SUPABASE_DB_URL: _deployment, ...env } = process.env;
  try {
    const { stdout, stderr } = await run(process.execPath, [path.join(PROJECT_ROOT, 'bin', 'strata.mjs'), ...args], {
      env: { ...env, STRATA_STATE_DIR: stack.stateDir },
      timeout: 60_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const archiveRequest = (suffix = '', method = 'GET') =>
  new Request(`http://x/archive/conversations/${id}${suffix}`, { method, headers: { authorization: `Bearer ${token}` } });

beforeAll(async () => {
  sql = connect();
  owner = await createUser(sql, 'large');
  other = await createUser(sql, 'large-other');
  token = tokenFor(owner);
  [id] = (await seedConversations(sql, owner.id, 1, MESSAGES)) as [string];
});
afterAll(() => sql.end());

describe('a large conversation', () => {
  it('exports as a stream, the same document the archive stores; GET streams it with its sha256', async () => {
    const exportResponse = await api(`/conversations/${id}/export`, { token });
    expect(exportResponse.status).toBe(200);
    expect(exportResponse.headers.get('content-disposition')).toBe(`attachment; filename="conversation-${id}.json"`);
    exported = exportResponse.text;
    expect(exported.length).toBeGreaterThan(8 * 1024 * 1024);
    const document = JSON.parse(exported);
    expect(document.messages).toHaveLength(MESSAGES);
    expect(document.archive_metadata).toMatchObject({ message_count: MESSAGES, user_id: owner.id, user_email: owner.email });

    // Archived here, by the worker's own code in one PutObject (Node has no
    // 256 MB limit), which is quicker than the function's multipart upload
    // spread over invocations; the document is the same either way.
    await deleteHeld(sql, [id]);
    await release(sql, [id]);
    await runLocalWorker({ ARCHIVE_STREAM_ABOVE_BYTES: String(256 * 1024 * 1024) });
    await waitForArchived(sql, [id]);
    const [row] = await sql<{ sha256: string }[]>`select sha256 from archived_conversations where conversation_id = ${id}`;

    const read = await api(`/archive/conversations/${id}`, { token });
    expect(read.status).toBe(200);
    archived = read.text;
    expect(read.headers.get('x-archive-sha256')).toBe(row!.sha256);
    expect(sha256(archived)).toBe(row!.sha256);

    const a = parts(archived);
    const e = parts(exported);
    expect(a.messages).toBe(e.messages);
    const { deleted_at: deletedAt, ...archivedConversation } = a.conversation;
    expect(deletedAt).toEqual(expect.any(String));
    expect({ ...archivedConversation, deleted_at: null }).toEqual(e.conversation);
    expect({ ...a.metadata, archived_at: null }).toEqual({ ...e.metadata, archived_at: null });

    // The same, streamed in this process with a low verify threshold.
    const handler = createArchiveHandler(functionEnv({ ARCHIVE_READ_VERIFY_MAX_BYTES: '65536' }));
    const streamed = await handler(archiveRequest());
    expect(streamed.status).toBe(200);
    expect(streamed.headers.get('x-archive-sha256')).toBe(row!.sha256);
    expect(await streamed.text()).toBe(archived);
  });

  it('reads archives of several gzip members (as multipart uploads write them), and aborts the transfer of a large one whose sha256 turns out wrong', async () => {
    const [row] = await sql<{ s3_key: string }[]>`select s3_key from archived_conversations where conversation_id = ${id}`;
    const { s3, bucket } = directS3();
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: row!.s3_key }));
    const original = await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: row!.s3_key }))).Body!.transformToByteArray();
    const json = gunzipSync(original);
    /** One gzip member per third of the document. */
    const members = (data: Buffer) => {
      const third = Math.floor(data.length / 3);
      return Buffer.concat([gzipSync(data.subarray(0, third)), gzipSync(data.subarray(third, 2 * third)), gzipSync(data.subarray(2 * third))]);
    };
    const put = (body: Uint8Array) =>
      s3.send(new PutObjectCommand({ Bucket: bucket, Key: row!.s3_key, Body: body, Metadata: head.Metadata, ContentEncoding: 'gzip', ContentType: 'application/json' }));
    const read = (verifyMaxBytes?: number) =>
      verifyMaxBytes === undefined
        ? // Through the gateway and the functions process (Deno), default thresholds.
          fetch(`${stack.functionsUrl}/archive/conversations/${id}`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(3_000) })
        : Promise.resolve(createArchiveHandler(functionEnv({ ARCHIVE_READ_VERIFY_MAX_BYTES: String(verifyMaxBytes) }))(archiveRequest()));
    try {
      await put(members(json));
      for (const verifyMaxBytes of [undefined, 65536, 64 * 1024 * 1024]) {
        const response = await read(verifyMaxBytes);
        expect(response.status).toBe(200);
        expect(await response.text()).toBe(archived);
      }

      // One byte changed near the end: the first megabytes check out, the whole does not.
      const corrupt = Buffer.from(json);
      corrupt[corrupt.lastIndexOf('"role":"user"') + '"role":"'.length] = 'U'.charCodeAt(0);
      await put(members(corrupt));
      // Deno resets the connection: the transfer never completes. (The dev
      // gateway does not pass the reset on, so the deadline ends the wait.)
      const overGateway = await read();
      expect(overGateway.status).toBe(200);
      expect(overGateway.headers.get('x-archive-sha256')).toBe(head.Metadata!.sha256);
      await expect(overGateway.text()).rejects.toThrow();
      // In this process: streamed (the stream errors with archive_corrupt) or verified first (422).
      const streamed = await read(65536);
      expect(streamed.status).toBe(200);
      await expect(streamed.text()).rejects.toMatchObject({ code: 'archive_corrupt' });
      const verified = await read(64 * 1024 * 1024);
      expect(verified.status).toBe(422);
      expect((await verified.json()).error).toEqual({ code: 'archive_corrupt', message: expect.any(String) });
    } finally {
      await put(original);
    }
    expect(sha256(gunzipSync(original))).toBe(head.Metadata!.sha256);
  });

  it('refuses to restore above ARCHIVE_RESTORE_MAX_BYTES with 413 naming the CLI, which restores it byte for byte', async () => {
    const [row] = await sql<{ bytes: string }[]>`select bytes from archived_conversations where conversation_id = ${id}`;
    const command = `npx strata archive restore ${id} --user ${owner.id}`;
    // Above the limit by its JSON (measured while reading) and by its gzip size (known up front).
    for (const limit of [Number(row!.bytes) + 1, 1024]) {
      const response = await createArchiveHandler(functionEnv({ ARCHIVE_RESTORE_MAX_BYTES: String(limit) }))(archiveRequest('/restore', 'POST'));
      expect(response.status).toBe(413);
      const body = await response.json();
      expect(body.error).toEqual({
        code: 'payload_too_large',
        message: `The archive is larger than this function restores (ARCHIVE_RESTORE_MAX_BYTES = ${limit} bytes of JSON); an operator can restore it with: ${command}`,
        details: { limit_bytes: limit, command },
      });
    }
    expect(await sql`select 1 from conversations where id = ${id}`).toHaveLength(0);
    expect(await sql`select status from archived_conversations where conversation_id = ${id}`).toEqual([{ status: 'stored' }]);

    const foreign = await strata('archive', 'restore', id, '--user', other.email, '--json');
    expect(foreign.code).toBe(1);
    expect(JSON.parse(foreign.stdout).error.code).toBe('archive_not_found');

    const restored = await strata('archive', 'restore', id, '--user', owner.email, '--json');
    expect(restored.code, restored.stderr).toBe(0);
    expect(JSON.parse(restored.stdout)).toMatchObject({ conversation_id: id, user_id: owner.id, message_count: MESSAGES, json_bytes: Buffer.byteLength(archived), restored: true });
    expect(await sql`select 1 from archived_conversations where conversation_id = ${id}`).toHaveLength(0);

    // Exported again, it is the document exported before the delete (but for when it was written).
    const again = await api(`/conversations/${id}/export`, { token });
    expect(again.status).toBe(200);
    expect(parts(again.text).beforeMetadata).toBe(parts(exported).beforeMetadata);
    expect({ ...parts(again.text).metadata, archived_at: null }).toEqual({ ...parts(exported).metadata, archived_at: null });
  });

  it('ends the export snapshot when the client stops reading', async () => {
    // One connection: a snapshot left open would hold it and the next export would wait.
    const db = createSql(stack.dbUrl, { max: 1 });
    try {
      const handler = createConversationsHandler(functionEnv(), { sql: db });
      const request = () => new Request(`http://x/conversations/${id}/export`, { headers: { authorization: `Bearer ${token}` } });
      const reader = (await handler(request())).body!.getReader();
      expect((await reader.read()).done).toBe(false);
      await reader.cancel();
      const next = await Promise.race([
        Promise.resolve(handler(request())).then((response) => response.text()),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the cancelled export still holds the connection')), 15_000)),
      ]);
      expect(parts(next).messages).toBe(parts(exported).messages);
    } finally {
      await db.end();
    }
  });
});
