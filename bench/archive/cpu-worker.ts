// Worker CPU per archived conversation, measured in the process that runs the
// worker: Strata's drainJobs (unchanged, with the real handlers and the
// settings' budget, WORKER_CPU_BUDGET_MS) in its own Node process, with
// process.cpuUsage() read around each drainJobs call (one call = one worker
// invocation). process.cpuUsage() is what jobs/budget.ts counts, so the
// numbers read directly against a hosted instance's CPU budget.
// Run by run.ts as:
//   node --import tsx bench/archive/cpu-worker.ts '<spec JSON>'
// with spec { warmupUsers, users, profileUsers }: the archive jobs of those
// users were parked an hour ahead by run.ts; each phase makes its users' jobs
// due and drains until none is left. Phases: warm-up (JIT, pools), idle
// invocations (nothing due), measured, and profiled (the V8 sampling
// profiler running: the same sampler as `node --cpu-prof`, over the drains
// only). Prints one JSON line on stdout.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { drainJobs, type DrainSummary, type WorkerDeps } from '../../supabase/functions/_shared/jobs/worker.ts';
import { summariseProfile, type CpuProfile } from './profile.ts';
import { closeBenchWorkerDeps, createBenchWorkerDeps } from './worker-deps.ts';

interface Spec {
  warmupUsers: string[];
  users: string[];
  profileUsers: string[];
  /** Where to write the raw profile (a .cpuprofile for Chrome DevTools), if anywhere. */
  profileOut?: string;
}
const spec = JSON.parse(process.argv[2] ?? '{}') as Spec;
if (!Array.isArray(spec.users) || spec.users.length === 0) throw new Error('usage: cpu-worker.ts \'{"warmupUsers":[],"users":[...],"profileUsers":[]}\'');

interface Invocation {
  cpuMs: number;
  userMs: number;
  systemMs: number;
  wallMs: number;
  done: number;
  claimed: number;
  stoppedBy: DrainSummary['stopped_by'];
  budgetCpuMs: number;
}

const deps: WorkerDeps = createBenchWorkerDeps('bench-cpu');
const { sql } = deps;

const unpark = (users: string[]) => sql`
  update private.jobs set run_after = now()
   where kind = 'archive_conversation' and user_id = any(${users}::uuid[]) and status = 'pending'`;
const left = async (users: string[]) =>
  (await sql<{ n: number }[]>`
    select count(*)::int as n from private.jobs
     where kind = 'archive_conversation' and user_id = any(${users}::uuid[]) and status in ('pending', 'running')`)[0]!.n;

async function invoke(): Promise<Invocation> {
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  const summary = await drainJobs(deps);
  const { user, system } = process.cpuUsage(cpu0);
  return {
    cpuMs: (user + system) / 1000,
    userMs: user / 1000,
    systemMs: system / 1000,
    wallMs: performance.now() - wall0,
    done: summary.done,
    claimed: summary.claimed,
    stoppedBy: summary.stopped_by,
    budgetCpuMs: summary.cpu_ms,
  };
}

/** Invocations until none of these users' jobs is pending or running. */
async function drainUsers(users: string[]): Promise<Invocation[]> {
  if (users.length === 0) return [];
  await unpark(users);
  const invocations: Invocation[] = [];
  let empty = 0;
  while ((await left(users)) > 0) {
    const invocation = await invoke();
    invocations.push(invocation);
    empty = invocation.claimed === 0 ? empty + 1 : 0;
    if (empty >= 20) throw new Error(`jobs left but 20 invocations in a row claimed nothing (${await left(users)} left)`);
  }
  return invocations;
}

const warmup = await drainUsers(spec.warmupUsers);
// What an invocation costs when nothing is due (one claim, nothing found).
const idle: Invocation[] = [];
for (let i = 0; i < 5; i++) idle.push(await invoke());
const measured = await drainUsers(spec.users);

let profile: ReturnType<typeof summariseProfile> | null = null;
let profiled: Invocation[] = [];
if (spec.profileUsers.length > 0) {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  profiled = await drainUsers(spec.profileUsers);
  const { profile: raw } = (await session.post('Profiler.stop')) as unknown as { profile: CpuProfile };
  session.disconnect();
  if (spec.profileOut) writeFileSync(spec.profileOut, JSON.stringify(raw));
  profile = summariseProfile(raw, 15);
}

await closeBenchWorkerDeps(deps);
process.stdout.write(JSON.stringify({ warmup, idle, measured, profiled, profile }) + '\n');
