// The stack's lock and state files in its state directory. The lock keeps a
// second `npm start` from starting Postgres on the same data directory; the
// state file is what `strata status` and `strata user create` read.
import { mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface StackInfo {
  apiUrl: string;
  functionsUrl: string;
  /** As postgres, not a superuser: SUPABASE_DB_URL, the CLI, the migrations. */
  dbUrl: string;
  /** As supabase_admin, the superuser: the dev platform SQL, the pg_net relay, test set-up. */
  adminDbUrl: string;
  s3Endpoint: string;
  s3Bucket: string;
  s3Region: string;
  s3AccessKeyId: string;
  s3SecretAccessKey: string;
  anonKey: string;
  serviceRoleKey: string;
  jwtSecret: string;
  jwtExpirySeconds: number;
  pid: number;
  startedAt: string;
  stateDir: string;
}

/**
 * The environment a function sees on this stack, as Supabase gives it to a
 * hosted function (the default secrets) plus the S3 secrets of the local
 * server: one mapping for the functions host, the CLI, the tests and the benches.
 */
export function functionsEnvOf(info: Pick<StackInfo, 'apiUrl' | 'anonKey' | 'serviceRoleKey' | 'dbUrl' | 's3AccessKeyId' | 's3SecretAccessKey' | 's3Region' | 's3Bucket' | 's3Endpoint'>): Record<string, string> {
  return {
    SUPABASE_URL: info.apiUrl,
    SUPABASE_ANON_KEY: info.anonKey,
    SUPABASE_SERVICE_ROLE_KEY: info.serviceRoleKey,
    SUPABASE_DB_URL: info.dbUrl,
    AWS_ACCESS_KEY_ID: info.s3AccessKeyId,
    AWS_SECRET_ACCESS_KEY: info.s3SecretAccessKey,
    AWS_REGION: info.s3Region,
    S3_BUCKET_NAME: info.s3Bucket,
    S3_ENDPOINT: info.s3Endpoint,
    S3_FORCE_PATH_STYLE: 'true',
    S3_SSE: 'none',
  };
}

export class AlreadyRunningError extends Error {
  override readonly name = 'AlreadyRunningError' as const;
  constructor(readonly pid: number, readonly stateDir: string) {
    super(`Strata is already running (pid ${pid}) with its data in ${stateDir}. Stop it first (Ctrl-C in its terminal), or run "npx strata status".`);
  }
}

const lockPath = (stateDir: string) => path.join(stateDir, 'stack.lock');
const statePath = (stateDir: string) => path.join(stateDir, 'stack.json');

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the lock or throws AlreadyRunningError; a lock left by a dead process is taken over. */
export async function acquireLock(stateDir: string): Promise<() => Promise<void>> {
  await mkdir(stateDir, { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(lockPath(stateDir), 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      return async () => {
        await rm(lockPath(stateDir), { force: true });
        await rm(statePath(stateDir), { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number((await readFile(lockPath(stateDir), 'utf8').catch(() => '')).trim());
      if (holder && holder !== process.pid && isAlive(holder)) throw new AlreadyRunningError(holder, stateDir);
      await rm(lockPath(stateDir), { force: true });
    }
  }
  throw new Error(`Could not take the lock in ${stateDir}.`);
}

export async function writeState(info: StackInfo): Promise<void> {
  await writeFile(statePath(info.stateDir), JSON.stringify(info, null, 2) + '\n', { mode: 0o600 });
}

/** The running stack's state, or null when none runs from this directory. */
export async function readState(stateDir: string): Promise<StackInfo | null> {
  try {
    const info = JSON.parse(await readFile(statePath(stateDir), 'utf8')) as StackInfo;
    return isAlive(info.pid) ? info : null;
  } catch {
    return null;
  }
}
