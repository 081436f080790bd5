import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { denoCacheDir, PROJECT_ROOT } from '../../../src/cli/project.ts';
import { startStack } from '../../../src/dev/stack.ts';
import { createUsers, createRealisticConversations } from '../data.ts';
const stateDir = await mkdtemp(path.join(tmpdir(), 'scratch-'));
const stack = await startStack({ projectRoot: PROJECT_ROOT, stateDir, jwtSecret: randomBytes(32).toString('hex'), denoDir: denoCacheDir(), log: () => {} });
const sql = postgres(stack.info.dbUrl, { max: 4, onnotice: () => {} });
function cpuTicks(): Map<string, number> {
  const m = new Map<string, number>();
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const t = Number(f[11]) + Number(f[12]);
      const name = pid === String(process.pid) ? 'bench-node(s3rver,relay,gateway)' : comm.startsWith('postgres') ? 'postgres' : comm;
      m.set(name, (m.get(name) ?? 0) + t);
    } catch {}
  }
  return m;
}
try {
  const users = await createUsers(sql, 8, 'cpu');
  const N = Number(process.env.N ?? 2000);
  await createRealisticConversations(sql, { users, count: N, messagesPerConversation: 10, seed: 1 });
  const before = cpuTicks();
  const t0 = performance.now();
  await sql`delete from public.conversations where user_id = any(${users}::uuid[])`;
  const calls = Array.from({ length: Number(process.env.W ?? 4) }, () => fetch(`${stack.info.functionsUrl}/archive-worker?wait=true`, { method: 'POST', headers: { authorization: `Bearer ${stack.info.serviceRoleKey}` }, body: '{}' }).then((r) => r.json()));
  for (let i = 0; i < 4000; i++) {
    const [r] = await sql`select count(*)::int as n from public.archived_conversations where status = 'stored'`;
    if (r!.n === N) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const secs = (performance.now() - t0) / 1000;
  const after = cpuTicks();
  console.log(`${N} in ${secs.toFixed(2)} s = ${(N / secs).toFixed(1)}/s`);
  for (const [k, v] of after) { const d = v - (before.get(k) ?? 0); console.log(k.padEnd(40), ((d / 100) / secs * 100).toFixed(0) + '% of a core'); }
  console.log(JSON.stringify(await Promise.all(calls)).slice(0, 300));
  const st = await sql`select state, wait_event_type, wait_event, count(*) from pg_stat_activity group by 1,2,3`;
  console.log(st);
} finally {
  await sql.end();
  await stack.stop();
  await rm(stateDir, { recursive: true, force: true });
}
