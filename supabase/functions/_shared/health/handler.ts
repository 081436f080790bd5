// GET /functions/v1/health: the versions of Strata's parts and whether each
// answers. 200 when all are up, 503 (same body) when one is down.
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import { readPlatformConfig, readS3Config, type EnvGetter } from '../config.ts';
import { createSql } from '../db/client.ts';
import { errors } from '../http/errors.ts';
import { json } from '../http/respond.ts';
import { withHttp, type Handler } from '../http/serve.ts';
import { createS3Client } from '../s3/client.ts';
import { s3StatusOf } from '../s3/errors.ts';
import { STRATA_VERSION } from '../version.ts';

const CHECK_TIMEOUT_MS = 3000;

type PartStatus = { ok: boolean; version?: string; detail?: string };

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what} did not answer in ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS)),
  ]);
}

export function createHealthHandler(env: EnvGetter, runtime: { name: string; version: string }): Handler {
  const platform = readPlatformConfig(env);
  const s3Config = readS3Config(env);
  const sql = platform.dbUrl ? createSql(platform.dbUrl, { max: 1, applicationName: 'strata-health' }) : null;
  const s3 = s3Config.configured ? createS3Client(s3Config) : null;

  const checkDatabase = async (): Promise<PartStatus> => {
    if (!sql) return { ok: false, detail: 'SUPABASE_DB_URL is not set' };
    try {
      const [row] = await withTimeout(sql`select current_setting('server_version') as version`, 'Postgres');
      return { ok: true, version: String(row!.version) };
    } catch (error) {
      return { ok: false, detail: (error as Error).message.includes('did not answer') ? 'timeout' : 'unreachable' };
    }
  };

  const checkS3 = async (): Promise<PartStatus> => {
    if (!s3Config.configured || !s3) return { ok: false, detail: s3Config.configured ? 'unconfigured' : s3Config.problem };
    try {
      await withTimeout(s3.send(new HeadBucketCommand({ Bucket: s3Config.bucket })), 'S3');
      return { ok: true, detail: `bucket ${s3Config.bucket} reachable` };
    } catch (error) {
      const status = s3StatusOf(error);
      return { ok: false, detail: status ? `bucket ${s3Config.bucket} answered ${status}` : 'unreachable' };
    }
  };

  return withHttp(async (request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') throw errors.methodNotAllowed(request.method, ['GET']);
    const [database, storage] = await Promise.all([checkDatabase(), checkS3()]);
    const ok = database.ok && storage.ok;
    return json(
      {
        status: ok ? 'ok' : 'degraded',
        versions: {
          strata: STRATA_VERSION,
          [runtime.name]: runtime.version,
          postgres: database.version ?? null,
        },
        parts: { database, storage, runtime: { ok: true, version: runtime.version } },
      },
      ok ? 200 : 503,
    );
  });
}
