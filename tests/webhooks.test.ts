// Database Webhooks, created exactly as the Supabase dashboard creates them:
// a row trigger calling supabase_functions.http_request(url, method, headers,
// params, timeout), which posts { type, table, schema, record, old_record }
// through pg_net (locally: the dev platform's stand-in and its relay). The
// archive gate cancels a conversation's DELETE, so a webhook on conversations
// DELETE fires only at the worker's final delete; the one to wake the worker
// watches INSERT on archived_conversations (the gate's pending index row).
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { seedConversations, waitForArchived, waitUntil } from './helpers/archive.ts';
import { control } from './helpers/control.ts';
import { asActor, connect, createUser, type Sql } from './helpers/db.ts';

const stack = inject('stack');
let sql: Sql;
let server: http.Server;
let probeUrl: string;
const received: Array<{ method: string; url: string; headers: http.IncomingHttpHeaders; body: any }> = [];

/** The statement the dashboard runs for a webhook (Database → Webhooks → Create). */
function dashboardWebhook(name: string, events: string, table: string, url: string, headers: Record<string, string>, params = '{}', method = 'POST'): string {
  return `create trigger "${name}" after ${events} on ${table} for each row
    execute function supabase_functions.http_request('${url}', '${method}', '${JSON.stringify(headers)}', '${params}', '5000')`;
}

beforeAll(async () => {
  sql = connect();
  server = http.createServer((request, response) => {
    let raw = '';
    request.on('data', (chunk) => (raw += chunk));
    request.on('end', () => {
      received.push({ method: request.method!, url: request.url!, headers: request.headers, body: raw ? JSON.parse(raw) : null });
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  probeUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

afterAll(async () => {
  await sql.unsafe('drop schema if exists webhook_probe cascade');
  await sql.end();
  await new Promise((resolve) => server.close(resolve));
});

describe('Database Webhooks (supabase_functions.http_request)', () => {
  it('post the changed row as { type, table, schema, record, old_record } through pg_net, after commit, and log each call', async () => {
    await sql.unsafe(`
      create schema webhook_probe;
      create table webhook_probe.notes (id integer primary key, body text not null);
      ${dashboardWebhook('notes-hook', 'insert or update or delete', 'webhook_probe.notes', `${probeUrl}/notes`, { 'Content-Type': 'application/json', 'X-Probe': 'notes' }, '{"source":"dashboard"}')}`);
    await sql`insert into webhook_probe.notes values (1, 'first')`;
    await sql`update webhook_probe.notes set body = 'second' where id = 1`;
    await sql`delete from webhook_probe.notes where id = 1`;
    await sql.begin(async (tx) => {
      await tx`insert into webhook_probe.notes values (2, 'rolled back')`;
      await tx`select 1/0`;
    }).catch(() => undefined);
    await control.drainRelay();
    await waitUntil('three webhook calls', async () => received.filter((r) => r.url.startsWith('/notes')).length >= 3, 10_000);

    const calls = received.filter((r) => r.url.startsWith('/notes'));
    expect(calls.map((c) => c.body)).toEqual([
      { type: 'INSERT', table: 'notes', schema: 'webhook_probe', record: { id: 1, body: 'first' }, old_record: null },
      { type: 'UPDATE', table: 'notes', schema: 'webhook_probe', record: { id: 1, body: 'second' }, old_record: { id: 1, body: 'first' } },
      { type: 'DELETE', table: 'notes', schema: 'webhook_probe', record: null, old_record: { id: 1, body: 'second' } },
    ]);
    for (const call of calls) {
      expect(call.method).toBe('POST');
      expect(call.url).toBe('/notes?source=dashboard');
      expect(call.headers['x-probe']).toBe('notes');
      expect(call.headers['content-type']).toBe('application/json');
    }
    const hooks = await sql`select hook_name, request_id from supabase_functions.hooks where hook_table_id = 'webhook_probe.notes'::regclass::oid::int order by id`;
    expect(hooks.map((h) => h.hook_name)).toEqual(['notes-hook', 'notes-hook', 'notes-hook']);
    expect(hooks.every((h) => h.request_id !== null)).toBe(true);
  });

  it('refuse what the hosted function refuses: no url, an unknown method', async () => {
    await sql.unsafe(`
      create table webhook_probe.bad (id integer primary key);
      create trigger no_url after insert on webhook_probe.bad for each row execute function supabase_functions.http_request();`);
    await expect(sql`insert into webhook_probe.bad values (1)`).rejects.toThrow(/url argument is missing/);
    await sql.unsafe(`
      drop trigger no_url on webhook_probe.bad;
      create trigger bad_method after insert on webhook_probe.bad for each row execute function supabase_functions.http_request('${probeUrl}/bad', 'PUT');`);
    await expect(sql`insert into webhook_probe.bad values (1)`).rejects.toThrow(/method argument PUT is invalid/);
  });

  it('on conversations DELETE fire only at the final delete: the gate cancels the first one', async () => {
    const user = await createUser(sql, 'webhook-delete');
    const [id] = await seedConversations(sql, user.id, 1, 2);
    await sql.unsafe(dashboardWebhook('probe-conversations-delete', 'delete', 'public.conversations', `${probeUrl}/conversations-delete`, { 'Content-Type': 'application/json' }));
    try {
      const deleted = await asActor(sql, { kind: 'user', id: user.id }, async (tx) => (await tx`delete from conversations where id = ${id!}`).count);
      expect(deleted).toBe(0); // the gate cancelled it: what supabase-js reports too
      await control.drainRelay();
      const forThis = () => received.filter((r) => r.url === '/conversations-delete' && r.body?.old_record?.id === id);
      expect(forThis()).toHaveLength(0);

      await waitForArchived(sql, [id!]);
      await control.drainRelay();
      await waitUntil('the final delete\'s webhook call', async () => forThis().length === 1, 10_000);
      expect(forThis()[0]!.body).toMatchObject({ type: 'DELETE', table: 'conversations', schema: 'public', record: null, old_record: { id, deleted_at: expect.any(String) } });
    } finally {
      await sql`drop trigger if exists "probe-conversations-delete" on public.conversations`;
    }
  });

  it('on archived_conversations INSERT wake the archive worker through the gateway, and the deleted conversation is archived', async () => {
    const user = await createUser(sql, 'webhook-wake');
    const [id] = await seedConversations(sql, user.id, 1, 3);
    // Strata's own wake-ups (the statement trigger and the 5-second sweep)
    // need the API URL from Vault: without it, only the webhook wakes a worker.
    // Renamed through Vault's API: postgres may not write vault.secrets itself, here as on Supabase.
    const [secret] = await sql<{ id: string }[]>`select id from vault.secrets where name = 'strata_api_url'`;
    await sql`select vault.update_secret(${secret!.id}::uuid, null, 'strata_api_url_paused')`;
    try {
      await sql.unsafe(dashboardWebhook('wake-archive-worker', 'insert', 'public.archived_conversations', `${stack.functionsUrl}/archive-worker`,
        { 'Content-Type': 'application/json', Authorization: `Bearer ${stack.serviceRoleKey}` }));
      const [{ woke }] = await sql`select private.wake_workers('archive-worker') as woke`;
      expect(woke).toBe(0);

      await asActor(sql, { kind: 'user', id: user.id }, (tx) => tx`delete from conversations where id = ${id!}`);
      const [hook] = await sql<{ request_id: string }[]>`
        select request_id from supabase_functions.hooks
         where hook_name = 'wake-archive-worker' and hook_table_id = 'public.archived_conversations'::regclass::oid::int
         order by id desc limit 1`;
      expect(hook?.request_id).toBeTruthy();

      await waitForArchived(sql, [id!], 30_000);
      let response: { status_code: number | null; content: string | null } | undefined;
      await waitUntil('the webhook response', async () => {
        [response] = await sql<{ status_code: number | null; content: string | null }[]>`select status_code, content from net._http_response where id = ${hook!.request_id}`;
        return response !== undefined;
      }, 10_000);
      expect(response!.status_code).toBe(202);
      expect(JSON.parse(response!.content!)).toMatchObject({ accepted: true });
    } finally {
      await sql`drop trigger if exists "wake-archive-worker" on public.archived_conversations`;
      await sql`select vault.update_secret(${secret!.id}::uuid, null, 'strata_api_url')`;
    }
  });
});
