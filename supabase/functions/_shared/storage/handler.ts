// GET /functions/v1/storage/info: storage settings and totals, for the
// service role only (it describes the whole project).
import { requireService } from '../auth/caller.ts';
import { readPlatformConfig, readS3Config, type EnvGetter } from '../config.ts';
import { createSql } from '../db/client.ts';
import { errors } from '../http/errors.ts';
import { json } from '../http/respond.ts';
import { Router } from '../http/router.ts';
import { withHttp, type Handler } from '../http/serve.ts';
import { createS3Client } from '../s3/client.ts';
import { storageInfo } from './info.ts';

export function createStorageHandler(env: EnvGetter): Handler {
  const platform = readPlatformConfig(env);
  const s3Config = readS3Config(env);
  const sql = createSql(platform.dbUrl ?? '', { max: 2, applicationName: 'strata-storage' });
  const s3 = s3Config.configured ? createS3Client(s3Config) : null;
  const router = new Router('storage').on('GET', '/info', async (request) => {
    requireService(request, platform);
    if (!s3Config.configured || !s3) return json({ configured: false, reason: s3Config.configured ? 'unavailable' : s3Config.problem });
    return json({ configured: true, ...(await storageInfo(sql, s3, s3Config)) });
  });
  return withHttp((request) => {
    if (!platform.dbUrl) throw errors.serviceUnavailable('SUPABASE_DB_URL is not set.');
    return router.handle(request);
  });
}
