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
const sql = postgres(stack.info.dbUrl, { max: 4, onnotice: () => {} });
const pct = (a: number[], p: number) => { const s = [...a].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.ceil(p / 100 * s.length) - 1)]!.toFixed(2); };
async function time(label: string, n: number, fn: (i: number) => Promise<unknown>) {
  const l: number[] = [];
  for (let i = 0; i < n; i++) { const t = performance.now(); await fn(i); l.push(performance.now() - t); }
  console.log(label, 'p50', pct(l, 50), 'p99', pct(l, 99), 'max', Math.max(...l).toFixed(1));
}
try {
  await sql`create table if not exists public.t (id serial primary key, v int)`;
  await time('insert autocommit', 200, () => sql`insert into public.t (v) values (1)`);
  await time('select 1', 200, () => sql`select 1`);
  await time('begin+select+commit', 200, () => sql.begin(async (tx) => { await tx`select 1`; }));
  await time('wake_workers (tx)', 100, () => sql.begin(async (tx) => { await tx`select private.wake_workers('archive-worker')`; }));
  const [u] = await createUsers(sql, 1, 'lat');
  await createBulkConversations(sql, { users: [u!], perUser: 600, messagesPerConversation: 4 });
  const ids = (await sql`select id from public.conversations where user_id = ${u!}`).map((r) => r.id);
  const claims = JSON.stringify({ sub: u, role: 'authenticated' });
  // stop the worker path: stop the relay? just measure with purge to see base delete cost
  await time('owner delete (pg_net wake, worker running)', 300, (i) => sql.begin(async (tx) => {
    await tx`select set_config('role', 'authenticated', true), set_config('request.jwt.claims', ${claims}, true)`;
    await tx`delete from public.conversations where id = ${ids[i]}`;
  }));
  await stack.parts.relay.stop();
  await stack.parts.scheduler.stop();
  await time('owner delete (relay stopped)', 300, (i) => sql.begin(async (tx) => {
    await tx`select set_config('role', 'authenticated', true), set_config('request.jwt.claims', ${claims}, true)`;
    await tx`delete from public.conversations where id = ${ids[300 + i]}`;
  }));
} finally {
  await sql.end();
  await stack.stop();
  await rm(stateDir, { recursive: true, force: true });
}
