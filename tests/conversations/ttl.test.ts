// TTL: a per-conversation TTL, the deployment default, extension, invisibility
// from the moment of expiry, and the expiry sweep in both policies.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { api, seedConversations, tokenFor, waitForArchived } from '../helpers/archive.ts';
import { connect, createUser, type Sql } from '../helpers/db.ts';

let sql: Sql;
let owner: { id: string; email: string };
let token: string;
beforeAll(async () => {
  sql = connect();
  owner = await createUser(sql, 'ttl');
  token = tokenFor(owner);
});
afterEach(async () => {
  await sql`update private.settings set default_ttl_hours = null, expiry_policy = 'archive', expiry_batch_size = 1000`;
});
afterAll(() => sql.end());

const hoursFromNow = (iso: string) => (Date.parse(iso) - Date.now()) / 3_600_000;

describe('TTL', () => {
  it('sets expires_at from ttl_hours, from the deployment default, or not at all', async () => {
    const explicit = (await api('/conversations', { token, method: 'POST', body: { ttl_hours: 2 } })).body.conversation;
    expect(hoursFromNow(explicit.expires_at)).toBeCloseTo(2, 1);
    const none = (await api('/conversations', { token, method: 'POST', body: {} })).body.conversation;
    expect(none.expires_at).toBeNull();
    await sql`update private.settings set default_ttl_hours = 24`;
    const defaulted = (await api('/conversations', { token, method: 'POST', body: {} })).body.conversation;
    expect(hoursFromNow(defaulted.expires_at)).toBeCloseTo(24, 1);
    const stats = await api('/conversations/stats', { token });
    expect(stats.body.default_ttl_hours).toBe(24);
  });

  it('extends from the current expiry', async () => {
    const conversation = (await api('/conversations', { token, method: 'POST', body: { ttl_hours: 1 } })).body.conversation;
    const extended = await api(`/conversations/${conversation.id}/extend`, { token, method: 'POST', body: { hours: 48 } });
    expect(extended.status).toBe(200);
    expect(hoursFromNow(extended.body.expires_at)).toBeCloseTo(49, 1);
  });

  it('caps extensions at max_ttl_hours from now overall: 400 ttl_too_long, expiry unchanged', async () => {
    const conversation = (await api('/conversations', { token, method: 'POST', body: { ttl_hours: 8000 } })).body.conversation;
    const path = `/conversations/${conversation.id}/extend`;
    // Each extension is within the per-request limit; together they pass the cap of 8,760 hours.
    const refused = await api(path, { token, method: 'POST', body: { hours: 1000 } });
    expect(refused.status).toBe(400);
    expect(refused.body.error.code).toBe('ttl_too_long');
    expect(refused.body.error.message).toMatch(/8760 hours/);
    const [row] = await sql`select to_jsonb(expires_at) #>> '{}' as expires_at from conversations where id = ${conversation.id}`;
    expect(row!.expires_at).toBe(conversation.expires_at);
    expect((await api(path, { token, method: 'POST', body: { hours: 700 } })).status).toBe(200);
  });

  it('hides an expired conversation from its owner before the sweep', async () => {
    const conversation = (await api('/conversations', { token, method: 'POST', body: { ttl_hours: 1 } })).body.conversation;
    await sql`update conversations set expires_at = now() - interval '1 second' where id = ${conversation.id}`;
    expect((await api(`/conversations/${conversation.id}`, { token })).status).toBe(404);
    const list = await api('/conversations?limit=100', { token });
    expect(list.body.conversations.map((c: { id: string }) => c.id)).not.toContain(conversation.id);
    expect((await api(`/conversations/${conversation.id}/messages`, { token, method: 'POST', body: { role: 'user', content: 'x' } })).status).toBe(404);
  });

  it("the 'archive' sweep sends expired conversations through the archive, in batches", async () => {
    const ids = await seedConversations(sql, owner.id, 25, 2);
    await sql`update conversations set expires_at = now() - interval '1 minute' where id = any(${ids}::uuid[])`;
    await sql`update private.settings set expiry_batch_size = 10`;
    const [{ report }] = await sql.unsafe('call private.expire_conversations()');
    expect(report).toMatchObject({ policy: 'archive', expired: expect.any(Number), batches: expect.any(Number) });
    expect(report.expired).toBeGreaterThanOrEqual(25);
    expect(report.batches).toBeGreaterThanOrEqual(3);
    await waitForArchived(sql, ids, 60_000);
    const [run] = await sql`select policy, expired, finished_at from private.expiry_runs where id = ${report.run}`;
    expect(run).toMatchObject({ policy: 'archive', expired: report.expired, finished_at: expect.any(Date) });
  });

  it("the 'delete' sweep purges expired conversations without archive and leaves the rest", async () => {
    const expired = await seedConversations(sql, owner.id, 30, 3);
    const kept = await seedConversations(sql, owner.id, 2, 1);
    await sql`update conversations set expires_at = now() - interval '1 minute' where id = any(${expired}::uuid[])`;
    await sql`update conversations set expires_at = now() + interval '1 hour' where id = any(${kept}::uuid[])`;
    await sql`update private.settings set expiry_policy = 'delete'`;
    // Purged on purpose: not a loss for the nothing-lost invariant.
    await sql`update private.test_ledger set disposed = true where conversation_id = any(${expired}::uuid[])`;
    const [{ report }] = await sql.unsafe('call private.expire_conversations()');
    expect(report).toMatchObject({ policy: 'delete' });
    expect(await sql`select 1 from conversations where id = any(${expired}::uuid[])`).toHaveLength(0);
    expect(await sql`select 1 from messages where conversation_id = any(${expired}::uuid[])`).toHaveLength(0);
    expect(await sql`select 1 from archived_conversations where conversation_id = any(${expired}::uuid[])`).toHaveLength(0);
    expect(await sql`select 1 from conversations where id = any(${kept}::uuid[])`).toHaveLength(2);
  });

  it('is scheduled hourly with pg_cron syntax in the same job table', async () => {
    const [job] = await sql`select schedule, command from private.scheduled_jobs where name = 'strata-expire-conversations'`;
    expect(job).toEqual({ schedule: '0 * * * *', command: 'call private.expire_conversations()' });
  });
});
