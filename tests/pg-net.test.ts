// The pg_net stand-in: requests queued by net.http_post/http_get/http_delete
// are sent by the relay only after the transaction commits; a rolled-back one
// never is. (Its signatures and grants: tests/hosted-roles.test.ts.)
import http from 'node:http';
import type postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Sql } from './helpers/db.ts';

let sql: Sql;
let server: http.Server;
let baseUrl: string;
const received: Array<{ method: string; url: string; body: string; headers: http.IncomingHttpHeaders }> = [];
const waiters: Array<() => void> = [];

beforeAll(async () => {
  sql = connect();
  server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      received.push({ method: request.method!, url: request.url!, body, headers: request.headers });
      waiters.splice(0).forEach((wake) => wake());
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  baseUrl = `http://127.0.0.1:${address.port}`;
});

afterAll(async () => {
  await sql.end();
  await new Promise((resolve) => server.close(resolve));
});

async function waitFor(predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the relay');
    await new Promise<void>((resolve) => {
      waiters.push(resolve);
      setTimeout(resolve, 100);
    });
  }
}

describe('pg_net stand-in', () => {
  it('sends a request queued in a committed transaction, with its body and headers', async () => {
    const [{ id }] = await sql`
      select net.http_post(
        url := ${`${baseUrl}/committed`},
        body := '{"hello": "world"}'::jsonb,
        headers := '{"Content-Type": "application/json", "X-Probe": "1"}'::jsonb
      ) as id`;
    await waitFor(() => received.some((r) => r.url === '/committed'));
    const request = received.find((r) => r.url === '/committed')!;
    expect(request.method).toBe('POST');
    expect(JSON.parse(request.body)).toEqual({ hello: 'world' });
    expect(request.headers['x-probe']).toBe('1');
    // Like pg_net, the outcome lands in net._http_response and the queue is emptied.
    let response: { status_code: number }[] = [];
    for (let i = 0; i < 50 && response.length === 0; i++) {
      response = await sql`select status_code from net._http_response where id = ${id}`;
      if (response.length === 0) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(response[0]?.status_code).toBe(200);
    expect(await sql`select 1 from net.http_request_queue where id = ${id}`).toHaveLength(0);
  });

  it('never sends a request queued in a rolled-back transaction', async () => {
    await sql
      .begin(async (tx) => {
        await tx`select net.http_post(url := ${`${baseUrl}/rolled-back`})`;
        throw new Error('roll back');
      })
      .catch(() => undefined);
    // A later committed request is a barrier: the relay sends in queue order,
    // so once this one has arrived the rolled-back one would have too.
    await sql`select net.http_get(url := ${`${baseUrl}/barrier`})`;
    await waitFor(() => received.some((r) => r.url === '/barrier'));
    expect(received.filter((r) => r.url === '/rolled-back')).toHaveLength(0);
  });

  it('does not send before commit', async () => {
    let sentBeforeCommit = true;
    await sql.begin(async (tx) => {
      await tx`select net.http_get(url := ${`${baseUrl}/slow-commit`}, params := '{"a": "1"}'::jsonb)`;
      await new Promise((resolve) => setTimeout(resolve, 1500));
      sentBeforeCommit = received.some((r) => r.url.startsWith('/slow-commit'));
    });
    expect(sentBeforeCommit).toBe(false);
    await waitFor(() => received.some((r) => r.url === '/slow-commit?a=1'));
  });

  it('sends a DELETE with its body (pg_net 0.20)', async () => {
    await sql`select net.http_delete(url := ${`${baseUrl}/with-body`}, body := '{"id": 7}'::jsonb)`;
    await waitFor(() => received.some((r) => r.url === '/with-body'));
    const request = received.find((r) => r.url === '/with-body')!;
    expect(request.method).toBe('DELETE');
    expect(JSON.parse(request.body)).toEqual({ id: 7 });
  });

  it('is callable by the API roles, as pg_net grants it to PUBLIC; Strata\'s wake-ups are not', async () => {
    const outcome = (statement: (tx: postgres.TransactionSql) => Promise<unknown>) =>
      sql
        .begin(async (tx) => {
          await tx`set local role authenticated`;
          await statement(tx);
          throw Object.assign(new Error('roll back'), { code: 'ok' });
        })
        .catch((e: { code?: string }) => e.code);
    expect(await outcome((tx) => tx`select net.http_post(url := ${`${baseUrl}/api-role`})`)).toBe('ok');
    // Only the database's own triggers (security definer) wake the workers.
    expect(await outcome((tx) => tx`select private.wake_workers('archive-worker')`)).toBe('42501');
  });
});
