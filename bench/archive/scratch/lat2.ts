import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { denoCacheDir, PROJECT_ROOT } from '../../../src/cli/project.ts';
import { startStack } from '../../../src/dev/stack.ts';
import { createUsers, createBulkConversations } from '../data.ts';
const stateDir = await mkdtemp(path.join(tmpdir(), 'scratch-'));
const stack = await startStack({ projectRoot: PROJECT_ROOT, stateDir, jwtSecret: randomBytes(32).toString('hex'), denoDir: denoCacheDir(), log: () => {} });
const sql = postgres(stack.info.dbUrl, { max: 1, onnotice: () => {} });
const pct = (a: number[], p: number) => { const s = [...a].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.ceil(p / 100 * s.length) - 1)]!.toFixed(2); };
async function time(label: string, n: number, fn: (i: number) => Promise<unknown>) {
  const l: number[] = [];
  for (let i = 0; i < n; i++) { const t = performance.now(); await fn(i); l.push(performance.now() - t); }
  console.log(label.padEnd(50), 'p50', pct(l, 50), 'p90', pct(l, 90), 'p99', pct(l, 99), 'max', Math.max(...l).toFixed(1));
}
try {
  await stack.parts.relay.stop();
  await stack.parts.scheduler.stop();
  await time('to_regprocedure', 200, () => sql`select to_regprocedure('net.http_post(text, jsonb, jsonb, jsonb, integer)'), to_regclass('vault.decrypted_secrets')`);
  await time('vault read', 200, () => sql`select decrypted_secret from vault.decrypted_secrets where name = 'strata_api_url'`);
  await time('net.http_post in tx', 200, () => sql.begin(async (tx) => { await tx`select net.http_post(url := 'http://127.0.0.1:1/x', body := '{}'::jsonb, headers := '{}'::jsonb, timeout_milliseconds := 5000)` }));
  await time('pg_notify in tx', 200, () => sql.begin(async (tx) => { await tx`select pg_notify('x', '1')` }));
  await time('insert queue no notify', 200, () => sql.begin(async (tx) => { await tx`insert into net.http_request_queue (method, url, headers, body, timeout_milliseconds) values ('POST','x','{}',null,5000)` }));
  await time('wake_workers', 200, () => sql.begin(async (tx) => { await tx`select private.wake_workers('archive-worker')` }));
  const [u] = await createUsers(sql, 1, 'lat');
  await createBulkConversations(sql, { users: [u!], perUser: 1200, messagesPerConversation: 4 });
  const ids = (await sql`select id from public.conversations where user_id = ${u!}`).map((r) => r.id);
  const claims = JSON.stringify({ sub: u, role: 'authenticated' });
  await time('owner delete', 300, (i) => sql.begin(async (tx) => {
    await tx`select set_config('role', 'authenticated', true), set_config('request.jwt.claims', ${claims}, true)`;
    await tx`delete from public.conversations where id = ${ids[i]}`;
  }));
  await time('superuser delete', 300, (i) => sql`delete from public.conversations where id = ${ids[300 + i]}`);
  await time('superuser delete, notify-free: purge', 300, (i) => sql.begin(async (tx) => { await tx`select set_config('strata.purge','on',true)`; await tx`delete from public.conversations where id = ${ids[600 + i]}` }));
  const plan = await sql.begin(async (tx) => { await tx`select set_config('role', 'authenticated', true), set_config('request.jwt.claims', ${claims}, true)`; return tx.unsafe(`explain (analyze, buffers) delete from public.conversations where id = '${ids[1000]}'`); });
  console.log(plan.map((r) => r['QUERY PLAN']).join('\n'));
  console.log(await sql`select count(*) from net.http_request_queue`);
} finally {
  await sql.end();
  await stack.stop();
  await rm(stateDir, { recursive: true, force: true });
}
