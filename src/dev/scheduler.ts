// Runs private.scheduled_jobs locally: the same rows a migration hands to
// pg_cron on Supabase, run with the same commands and schedules. Like pg_cron,
// a job never overlaps itself, runs as the role that scheduled it (postgres,
// which applies the migrations: dbUrl), and each run's outcome is kept for `status`.
import postgres from 'postgres';
import { cronMatches, parseSchedule, type Schedule } from './cron.ts';

export interface JobRun {
  name: string;
  startedAt: string;
  durationMs: number;
  ok: boolean;
  error?: string;
}

export interface SchedulerHandle {
  stop(): Promise<void>;
  /** Runs one job now, as pg_cron would at its next tick. */
  runNow(name: string): Promise<JobRun>;
  lastRuns(): JobRun[];
}

interface JobRow {
  name: string;
  schedule: string;
  command: string;
}

const TICK_MS = 1000;

export async function startScheduler(options: { dbUrl: string; log: (line: string) => void }): Promise<SchedulerHandle> {
  const { dbUrl, log } = options;
  const sql = postgres(dbUrl, { max: 4, onnotice: () => {}, connection: { application_name: 'strata-dev-scheduler' } });
  const lastStart = new Map<string, number>();
  const lastCronMinute = new Map<string, number>();
  const inFlight = new Map<string, Promise<JobRun>>();
  const runs = new Map<string, JobRun>();
  const badSchedules = new Set<string>();
  let stopped = false;

  const loadJobs = async (): Promise<JobRow[]> => {
    const [exists] = await sql`select to_regclass('private.scheduled_jobs') is not null as present`;
    if (!exists?.present) return [];
    return sql<JobRow[]>`select name, schedule, command from private.scheduled_jobs order by name`;
  };

  const run = (job: JobRow): Promise<JobRun> => {
    const existing = inFlight.get(job.name);
    if (existing) return existing;
    const started = Date.now();
    lastStart.set(job.name, started);
    const promise = (async () => {
      let result: JobRun;
      try {
        await sql.unsafe(job.command);
        result = { name: job.name, startedAt: new Date(started).toISOString(), durationMs: Date.now() - started, ok: true };
      } catch (error) {
        const message = String((error as Error).message ?? error);
        result = { name: job.name, startedAt: new Date(started).toISOString(), durationMs: Date.now() - started, ok: false, error: message };
        log(`job ${job.name} failed: ${message}`);
      }
      runs.set(job.name, result);
      inFlight.delete(job.name);
      return result;
    })();
    inFlight.set(job.name, promise);
    return promise;
  };

  const isDue = (job: JobRow, schedule: Schedule, now: number): boolean => {
    if (schedule.kind === 'interval') {
      const last = lastStart.get(job.name);
      return last === undefined || now - last >= schedule.seconds * 1000;
    }
    const minute = Math.floor(now / 60_000);
    if (lastCronMinute.get(job.name) === minute) return false;
    if (!cronMatches(schedule, new Date(now))) return false;
    lastCronMinute.set(job.name, minute);
    return true;
  };

  const tick = async () => {
    if (stopped) return;
    let jobs: JobRow[];
    try {
      jobs = await loadJobs();
    } catch (error) {
      log(`scheduler could not read jobs: ${String((error as Error).message ?? error)}`);
      return;
    }
    const now = Date.now();
    for (const job of jobs) {
      let schedule: Schedule;
      try {
        schedule = parseSchedule(job.schedule);
      } catch (error) {
        if (!badSchedules.has(job.name)) log(`job ${job.name}: ${(error as Error).message}`);
        badSchedules.add(job.name);
        continue;
      }
      if (!inFlight.has(job.name) && isDue(job, schedule, now)) void run(job);
    }
  };

  const timer = setInterval(() => void tick(), TICK_MS);
  const jobs = await loadJobs();
  log(`scheduler running ${jobs.length} job(s)${jobs.length ? ': ' + jobs.map((j) => `${j.name} (${j.schedule})`).join(', ') : ''}`);

  return {
    lastRuns: () => [...runs.values()],
    runNow: async (name) => {
      const job = (await loadJobs()).find((j) => j.name === name);
      if (!job) throw new Error(`no scheduled job named ${name}`);
      return run(job);
    },
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await Promise.allSettled([...inFlight.values()]);
      await sql.end({ timeout: 2 });
    },
  };
}
