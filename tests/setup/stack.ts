// Starts one isolated Strata stack for the test run: a temporary state
// directory, free ports and a random JWT secret, so two runs never clash and
// nothing is hard-wired to the demo keys. The functions reach S3 through a
// fault proxy, and a control endpoint lets tests stop S3, switch the proxy
// or kill the functions process. Torn down when the run ends.
import './quiet.ts';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import { denoCacheDir, PROJECT_ROOT } from '../../src/cli/project.ts';
import { freePort } from '../../src/dev/ports.ts';
import type { InstanceInfo } from '../../src/dev/edge-runtime/instance.ts';
import { startStack, type Stack } from '../../src/dev/stack.ts';
import type { StackInfo } from '../../src/dev/state.ts';
import { startControl } from './control.ts';
import { startFaultProxy } from './fault-proxy.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    stack: StackInfo;
    controlUrl: string;
    /** The S3 endpoint the functions use (through the fault proxy). */
    functionsS3Endpoint: string;
  }
}

/** Short leases and back-off so fault tests finish in seconds. */
export const TEST_FUNCTION_ENV = {
  ARCHIVE_LEASE_SECONDS: '4',
  ARCHIVE_BACKOFF_BASE_SECONDS: '1',
  ARCHIVE_BUDGET_SECONDS: '20',
  S3_REQUEST_TIMEOUT_MS: '3000',
};

// Test-only: records every conversation ever created, for the invariant
// checked after each test (tests/setup/invariant.ts). Set up by the
// superuser, as platform code would be; the invariant reads and marks it as
// postgres, with the grant below.
const LEDGER_SQL = `
  create table if not exists private.test_ledger (
    conversation_id uuid primary key,
    user_id uuid not null,
    disposed boolean not null default false,
    -- The archive sha256 last checked against its S3 object.
    verified_sha256 text
  );
  create or replace function private.test_ledger_record() returns trigger language plpgsql security definer set search_path = '' as $$
  begin
    insert into private.test_ledger (conversation_id, user_id) values (new.id, new.user_id) on conflict do nothing;
    return null;
  end $$;
  create or replace trigger zz_test_ledger after insert on public.conversations
    for each row execute function private.test_ledger_record();
  -- A permanently deleted archive (the owner asked for it) is not a loss.
  create or replace function private.test_ledger_disposed() returns trigger language plpgsql security definer set search_path = '' as $$
  begin
    if not exists (select 1 from public.conversations where id = old.conversation_id) then
      update private.test_ledger set disposed = true where conversation_id = old.conversation_id;
    end if;
    return null;
  end $$;
  create or replace trigger zz_test_ledger_disposed after delete on public.archived_conversations
    for each row execute function private.test_ledger_disposed();
  -- supabase_admin's functions are executable by PUBLIC by default (the
  -- migrations revoke that default for postgres only).
  revoke all on function private.test_ledger_record(), private.test_ledger_disposed() from public;
  grant select, update (disposed, verified_sha256) on private.test_ledger to postgres;
`;

/** One line about the run's function instances: how many, why they retired, which limits killed one. */
function describeInstances(instances: InstanceInfo[]): string {
  const count = (values: Array<string | null | undefined>) =>
    Object.entries(values.reduce<Record<string, number>>((acc, v) => (v ? ((acc[v] = (acc[v] ?? 0) + 1), acc) : acc), {}))
      .map(([k, n]) => `${k} ${n}`)
      .join(', ') || 'none';
  const killed = instances.filter((i) => ['cpu', 'memory', 'wall_clock'].includes(i.exit?.reason ?? ''));
  return [
    `function instances (the last ${instances.length}): retired by ${count(instances.map((i) => i.retiredBy && `${i.retiredBy} (${i.function})`))}`,
    `killed at a hard limit: ${killed.map((i) => `${i.function} (${i.exit!.reason}, ${i.cpuMs} ms CPU, ${Math.round(i.peakMemoryBytes / 1048576)} MB)`).join(', ') || 'none'}`,
    `most CPU: ${[...instances].sort((a, b) => b.cpuMs - a.cpuMs).slice(0, 5).map((i) => `${i.function} ${i.cpuMs} ms`).join(', ')}`,
    `most memory: ${[...instances].sort((a, b) => b.peakMemoryBytes - a.peakMemoryBytes).slice(0, 3).map((i) => `${i.function} ${Math.round(i.peakMemoryBytes / 1048576)} MB`).join(', ')}`,
  ].join('; ');
}

export default async function setup(project: TestProject) {
  const stateDir = await mkdtemp(path.join(tmpdir(), 'strata-test-'));
  const logs: string[] = [];
  const started = Date.now();
  const [s3Port, proxyPort, controlPort] = [await freePort(), await freePort(), await freePort()];
  const proxy = await startFaultProxy(proxyPort, () => `http://127.0.0.1:${s3Port}`);
  let stack: Stack;
  try {
    stack = await startStack({
      projectRoot: PROJECT_ROOT,
      stateDir,
      ports: { s3: s3Port },
      jwtSecret: randomBytes(32).toString('hex'),
      denoDir: denoCacheDir(),
      functionEnv: { ...TEST_FUNCTION_ENV, S3_ENDPOINT: proxy.url },
      log: (part, line) => {
        logs.push(`[${part}] ${line}`);
        if (process.env.STRATA_TEST_LOGS) process.stderr.write(`[${part}] ${line}\n`);
      },
    });
  } catch (error) {
    process.stderr.write(logs.slice(-80).join('\n') + '\n');
    await proxy.stop();
    await rm(stateDir, { recursive: true, force: true });
    throw error;
  }
  const sql = postgres(stack.info.adminDbUrl, { max: 1, onnotice: () => {} });
  await sql.unsafe(LEDGER_SQL);
  await sql.end();
  const control = await startControl(controlPort, stack, proxy);
  process.stderr.write(`strata test stack up in ${((Date.now() - started) / 1000).toFixed(1)} s (${stateDir})\n`);
  project.provide('stack', stack.info);
  project.provide('controlUrl', control.url);
  project.provide('functionsS3Endpoint', proxy.url);

  return async () => {
    await control.stop();
    process.stderr.write(`${describeInstances(stack.parts.functions.instances())}\n`);
    await stack.stop();
    await proxy.stop();
    if (process.env.STRATA_TEST_LOGS_ON_EXIT) process.stderr.write(logs.join('\n') + '\n');
    // STRATA_TEST_KEEP=1 keeps the database and S3 files for a post-mortem.
    if (process.env.STRATA_TEST_KEEP) process.stderr.write(`kept the test stack's data in ${stateDir}\n`);
    else await rm(stateDir, { recursive: true, force: true });
  };
}
