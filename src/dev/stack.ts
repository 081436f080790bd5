// The whole local stack, started in dependency order and stopped in reverse:
// Postgres → platform SQL → migrations (Supabase CLI) → S3 → functions (Deno)
// → gateway → Vault secrets → pg_net relay → scheduler. Used by `npm start`
// and by the test harness (with temporary directories and free ports).
// Roles as on hosted Supabase: the platform SQL and the relay (pg_net's
// worker) run as the superuser supabase_admin; the migrations, the functions
// (SUPABASE_DB_URL), the local Auth, the Vault secrets, the scheduler and the
// CLI as postgres.
import path from 'node:path';
import { apiKeys } from '../auth/jwt.ts';
import { startFunctions, type FunctionsHandle } from './functions.ts';
import { readVerifyJwt } from './function-config.ts';
import { startGateway, type GatewayHandle } from './gateway.ts';
import { createLocalApi } from './local-api.ts';
import { applyMigrations } from './migrations.ts';
import { applyPlatformSql, upsertVaultSecrets } from './platform.ts';
import { startPostgres, type PostgresHandle } from './postgres.ts';
import { freePort } from './ports.ts';
import { startRelay, type RelayHandle } from './relay.ts';
import { LOCAL_S3_CREDENTIALS, LOCAL_S3_REGION, startS3, type S3Handle } from './s3.ts';
import { startScheduler, type SchedulerHandle } from './scheduler.ts';
import { acquireLock, writeState, type StackInfo, functionsEnvOf } from './state.ts';

export type Part = 'db' | 'migrations' | 's3' | 'functions' | 'gateway' | 'relay' | 'scheduler' | 'stack';
export type StackLog = (part: Part, line: string) => void;

export interface StackOptions {
  projectRoot: string;
  /** Holds the database, the S3 objects, the lock and the state file. */
  stateDir: string;
  /** Fixed ports for `npm start`; any left out is chosen free at run time. */
  ports?: Partial<Record<'api' | 'db' | 's3' | 'functions', number>>;
  jwtSecret: string;
  jwtExpirySeconds?: number;
  bucket?: string;
  /** Where Deno caches npm packages between runs. */
  denoDir: string;
  /** Extra environment for the functions (e.g. S3_PREFIX). */
  functionEnv?: Record<string, string>;
  log: StackLog;
}

export interface Stack {
  info: StackInfo;
  parts: {
    postgres: PostgresHandle;
    s3: S3Handle;
    functions: FunctionsHandle;
    gateway: GatewayHandle;
    relay: RelayHandle;
    scheduler: SchedulerHandle;
  };
  stop(): Promise<void>;
}

export const DEFAULT_BUCKET = 'strata-local';

export async function startStack(options: StackOptions): Promise<Stack> {
  const { projectRoot, stateDir, jwtSecret, log } = options;
  const bucket = options.bucket ?? DEFAULT_BUCKET;
  const releaseLock = await acquireLock(stateDir);
  const stops: Array<() => Promise<void>> = [releaseLock];
  const stop = async () => {
    for (const fn of stops.splice(0).reverse()) {
      await fn().catch((error) => log('stack', `while stopping: ${String((error as Error).message ?? error)}`));
    }
  };

  try {
    const port = async (name: 'api' | 'db' | 's3' | 'functions') => options.ports?.[name] ?? (await freePort());
    const [apiPort, dbPort, s3Port, functionsPort] = [await port('api'), await port('db'), await port('s3'), await port('functions')];

    const postgres = await startPostgres({ dataDir: path.join(stateDir, 'db', 'data'), port: dbPort, log: (l) => log('db', l) });
    stops.push(postgres.stop);
    await applyPlatformSql(postgres.adminUrl);
    log('migrations', (await applyMigrations(postgres.url, projectRoot)).split('\n').filter((l) => /Applying|up to date/i.test(l)).join('\n') || 'migrations applied');

    const s3 = await startS3({ directory: path.join(stateDir, 's3'), port: s3Port, bucket, log: (l) => log('s3', l) });
    stops.push(s3.stop);

    const apiUrl = `http://127.0.0.1:${apiPort}`;
    const { anonKey, serviceRoleKey } = apiKeys(jwtSecret);
    const functions = await startFunctions({
      projectRoot,
      port: functionsPort,
      denoDir: options.denoDir,
      log: (l) => log('functions', l),
      env: {
        ...functionsEnvOf({
          apiUrl, anonKey, serviceRoleKey, dbUrl: postgres.url, s3Endpoint: s3.endpoint, s3Bucket: bucket, s3Region: LOCAL_S3_REGION,
          s3AccessKeyId: LOCAL_S3_CREDENTIALS.accessKeyId, s3SecretAccessKey: LOCAL_S3_CREDENTIALS.secretAccessKey,
        }),
        ...options.functionEnv,
      },
    });
    stops.push(functions.stop);

    const verifyJwt = readVerifyJwt(path.join(projectRoot, 'supabase', 'config.toml'));
    const jwtExpirySeconds = options.jwtExpirySeconds ?? 3600;
    const localApi = createLocalApi({ dbUrl: postgres.url, jwtSecret, apiUrl, jwtExpirySeconds, log: (l) => log('gateway', l) });
    const gateway = await startGateway({
      port: apiPort,
      functionsUrl: () => functions.url,
      jwtSecret,
      verifyJwt: (name) => verifyJwt.get(name) ?? true,
      localApi,
      log: (l) => log('gateway', l),
    });
    // Stopped before the gateway: it ends the Realtime sockets the gateway would wait for.
    stops.push(gateway.stop, localApi.stop);

    // What the database needs to call the functions back (pg_net wake-ups).
    await upsertVaultSecrets(postgres.url, { strata_api_url: apiUrl, strata_service_role_key: serviceRoleKey });

    const relay = await startRelay({ adminDbUrl: postgres.adminUrl, log: (l) => log('relay', l) });
    stops.push(relay.stop);
    const scheduler = await startScheduler({ dbUrl: postgres.url, log: (l) => log('scheduler', l) });
    stops.push(scheduler.stop);

    const info: StackInfo = {
      apiUrl,
      functionsUrl: `${apiUrl}/functions/v1`,
      dbUrl: postgres.url,
      adminDbUrl: postgres.adminUrl,
      s3Endpoint: s3.endpoint,
      s3Bucket: bucket,
      s3Region: LOCAL_S3_REGION,
      s3AccessKeyId: LOCAL_S3_CREDENTIALS.accessKeyId,
      s3SecretAccessKey: LOCAL_S3_CREDENTIALS.secretAccessKey,
      anonKey,
      serviceRoleKey,
      jwtSecret,
      jwtExpirySeconds,
      pid: process.pid,
      startedAt: new Date().toISOString(),
      stateDir,
    };
    await writeState(info);
    return { info, parts: { postgres, s3, functions, gateway, relay, scheduler }, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
