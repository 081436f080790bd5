// Which deployment an operations command works on: the deployment named by
// the shell when it sets SUPABASE_DB_URL (with the S3 variables), or for a
// command that only talks to S3 (bucket setup) when it sets S3_BUCKET_NAME;
// else the local stack started by `npm start`. On the local stack, the
// database and S3 are always the stack's own: a shell variable such as
// S3_BUCKET_NAME or AWS_ACCESS_KEY_ID left from other work never redirects a
// command meant for it. Only tuning variables (S3_PREFIX, ARCHIVE_*, ...) come
// from the shell, and every command says which, and which target and bucket
// it uses.
import { readS3Config, type EnvGetter } from '../../supabase/functions/_shared/config.ts';
import { functionsEnvOf, readState, type StackInfo } from '../dev/state.ts';
import { CliError } from './output.ts';
import { stateDir } from './project.ts';

/** Variables that tune how the work is done, not where: on the local stack they may come from the shell. */
const TUNING =
  /^(S3_PREFIX|S3_REQUEST_TIMEOUT_MS|(ARCHIVE|WORKER|FILES|ANALYSIS|MESSAGE|CONVERSATION|PAGE_SIZE|HISTORY|TTL|LIFECYCLE|STORAGE)_[A-Z0-9_]+)$/;

export const isTuningVariable = (name: string): boolean => TUNING.test(name);

/**
 * Besides the stack's own settings (functionsEnvOf): variables that would
 * point a command at another database or lend it a deployment's keys. The
 * local stack has none of them, and never takes them from the shell.
 */
const NOT_FROM_THE_SHELL = ['STRATA_DB_POOLER_URL', 'SUPABASE_SECRET_KEYS', 'SUPABASE_SECRET_KEY'];

/** The database, S3 and key variables the local stack always sets itself (or leaves unset). */
export const localStackVariables = (info: Parameters<typeof functionsEnvOf>[0]): string[] => [
  ...Object.keys(functionsEnvOf(info)),
  ...NOT_FROM_THE_SHELL,
];

/** What a command prints about its target, and puts in its --json output as `target`. */
export interface TargetSummary {
  kind: 'local stack' | 'deployment';
  /** host:port/database, without credentials; null for an S3-only deployment (bucket setup). */
  database: string | null;
  /** null when S3 is not configured (then `problem` says why). */
  bucket: string | null;
  prefix: string | null;
  problem?: string;
  /** Tuning variables taken from the shell (local stack). */
  from_shell: string[];
  /** Shell variables not used because the local stack has its own (database and S3). */
  ignored_from_shell: string[];
}

export interface Target {
  env: EnvGetter;
  summary: TargetSummary;
}

/** The database's address for people: host, port and name, never the password. */
export function describeDatabase(url: string | undefined): string {
  if (!url) return '(not set)';
  try {
    const parsed = new URL(url);
    return `${parsed.host}${parsed.pathname}`;
  } catch {
    return '(not a URL)';
  }
}

/**
 * The local stack's environment as a command sees it: the stack's database
 * and S3 settings whatever the shell says, tuning variables from the shell.
 */
export function localTargetEnv(info: Parameters<typeof functionsEnvOf>[0], shell: NodeJS.ProcessEnv): {
  env: EnvGetter;
  fromShell: string[];
  ignored: string[];
} {
  const local: Record<string, string> = functionsEnvOf(info);
  const set = (name: string) => shell[name] !== undefined && shell[name] !== '';
  const fromShell = Object.keys(shell).filter((name) => isTuningVariable(name) && set(name)).sort();
  const ignored = localStackVariables(info).filter((name) => set(name) && shell[name] !== local[name]).sort();
  return {
    env: (name) => (isTuningVariable(name) && set(name) ? shell[name] : local[name]),
    fromShell,
    ignored,
  };
}

function summarize(kind: TargetSummary['kind'], env: EnvGetter, fromShell: string[], ignored: string[]): TargetSummary {
  const s3 = readS3Config(env);
  const dbUrl = env('SUPABASE_DB_URL');
  return {
    kind,
    database: kind === 'deployment' && !dbUrl ? null : describeDatabase(dbUrl),
    bucket: s3.configured ? s3.bucket : null,
    prefix: s3.configured ? s3.prefix || null : null,
    ...(s3.configured ? {} : { problem: s3.problem }),
    from_shell: fromShell,
    ignored_from_shell: ignored,
  };
}

/** s3Only: the command talks only to S3, so S3_BUCKET_NAME alone names a deployment (its bucket). */
export async function resolveTarget(options: { s3Only?: boolean } = {}): Promise<Target> {
  if (process.env.SUPABASE_DB_URL || (options.s3Only && process.env.S3_BUCKET_NAME)) {
    const env: EnvGetter = (name) => process.env[name];
    return { env, summary: summarize('deployment', env, [], []) };
  }
  const info: StackInfo | null = await readState(stateDir());
  if (!info) {
    throw new CliError('no_target', 'Set SUPABASE_DB_URL (and the S3 variables) for a deployment, or start the local stack with "npm start".');
  }
  const { env, fromShell, ignored } = localTargetEnv(info, process.env);
  return { env, summary: summarize('local stack', env, fromShell, ignored) };
}

/** One line on stderr (people read it; --json output carries `target` instead). */
export function announceTarget(summary: TargetSummary, json: boolean): void {
  if (json) return;
  const bucket = summary.bucket ? `bucket ${summary.bucket}${summary.prefix ? `/${summary.prefix}` : ''}` : `no bucket (${summary.problem})`;
  process.stderr.write(`target: ${summary.kind} (${summary.database === null ? 'S3 only' : `database ${summary.database}`}), ${bucket}\n`);
  if (summary.from_shell.length > 0) process.stderr.write(`  from the shell: ${summary.from_shell.join(', ')}\n`);
  if (summary.ignored_from_shell.length > 0) {
    process.stderr.write(
      `  ignored from the shell: ${summary.ignored_from_shell.join(', ')} (the local stack's own are used; set SUPABASE_DB_URL to work on a deployment)\n`,
    );
  }
}
