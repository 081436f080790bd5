// Which deployment an operations command works on: the environment when it
// names a database (SUPABASE_DB_URL, plus the S3 variables), or a bucket for
// a command that only talks to S3 (S3_BUCKET_NAME: bucket setup), else the
// local stack started by `npm start`.
import type { EnvGetter } from '../../supabase/functions/_shared/config.ts';
import { functionsEnvOf, readState } from '../dev/state.ts';
import { CliError } from './output.ts';
import { stateDir } from './project.ts';

export async function resolveTargetEnv(options: { s3Only?: boolean } = {}): Promise<{ env: EnvGetter; source: 'environment' | 'local stack' }> {
  if (process.env.SUPABASE_DB_URL || (options.s3Only && process.env.S3_BUCKET_NAME)) return { env: (name) => process.env[name], source: 'environment' };
  const info = await readState(stateDir());
  if (!info) {
    throw new CliError('no_target', 'Set SUPABASE_DB_URL (and the S3 variables) for a deployment, or start the local stack with "npm start".');
  }
  const local = functionsEnvOf(info);
  // Variables set in the shell still win (e.g. S3_PREFIX or archive settings).
  return { env: (name) => process.env[name] ?? local[name], source: 'local stack' };
}
