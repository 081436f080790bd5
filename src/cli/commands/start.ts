// strata start (npm start): the whole local stack in the foreground.
import exitHook from 'async-exit-hook';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { AlreadyRunningError, readState } from '../../dev/state.ts';
import { isPortInUse } from '../../dev/ports.ts';
import { startStack, type Part } from '../../dev/stack.ts';
import { checkArgs } from '../args.ts';
import { CliError, printFields, stackFields, type ParsedArgs } from '../output.ts';
import { denoCacheDir, PROJECT_ROOT, stateDir } from '../project.ts';

export const START_USAGE = `Usage:
  strata start   Start the whole local stack in the foreground (npm start; Ctrl-C stops it)`;

/** Supabase's local default, so the printed anon key is the familiar demo key. */
export const LOCAL_JWT_SECRET = 'super-secret-jwt-token-with-at-least-32-characters-long';

const DEFAULT_PORTS = { api: 54321, db: 54322, s3: 54330, functions: 54331 } as const;

function configuredPorts() {
  const read = (name: string, fallback: number) => {
    const raw = process.env[name];
    if (raw === undefined || raw === '') return fallback;
    const port = Number(raw);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new CliError('invalid_port', `${name} must be a port number, not "${raw}".`);
    }
    return port;
  };
  return {
    api: read('STRATA_API_PORT', DEFAULT_PORTS.api),
    db: read('STRATA_DB_PORT', DEFAULT_PORTS.db),
    s3: read('STRATA_S3_PORT', DEFAULT_PORTS.s3),
    functions: read('STRATA_FUNCTIONS_PORT', DEFAULT_PORTS.functions),
  };
}

// Postgres and initdb are chatty; show their warnings and errors, except the
// Supabase CLI's probe for its migrations table on a fresh database.
const POSTGRES_WORTH_SHOWING = /(WARNING|ERROR|FATAL|PANIC):|^initialising/;

function log(part: Part, line: string) {
  if (part === 'db' && (!POSTGRES_WORTH_SHOWING.test(line) || /supabase_migrations|administrator command/.test(line))) return;
  process.stdout.write(`[${part.padEnd(10)}] ${line}\n`);
}

/**
 * True when Deno's cache holds no npm package yet (the functions import only
 * npm: packages): the first start downloads the functions' dependencies.
 */
export async function isDenoCacheEmpty(denoDir: string): Promise<boolean> {
  try {
    return (await readdir(path.join(denoDir, 'npm'))).length === 0;
  } catch {
    return true;
  }
}

export async function startCommand(args: ParsedArgs): Promise<number> {
  checkArgs(args, START_USAGE, {});
  const running = await readState(stateDir());
  if (running) throw new CliError('already_running', new AlreadyRunningError(running.pid, running.stateDir).message);
  const ports = configuredPorts();
  for (const [name, port] of Object.entries(ports)) {
    if (await isPortInUse(port)) {
      throw new CliError(
        'port_in_use',
        `Port ${port} (${name}) is already in use. Is Strata already running? Check with "npx strata status", or set STRATA_${name.toUpperCase()}_PORT.`,
      );
    }
  }
  process.stdout.write('Starting Strata…\n');
  if (await isDenoCacheEmpty(denoCacheDir())) {
    process.stdout.write(`First start: downloading the functions' dependencies into ${denoCacheDir()} (a minute or two; later starts reuse them).\n`);
  }
  let stack;
  try {
    stack = await startStack({
      projectRoot: PROJECT_ROOT,
      stateDir: stateDir(),
      ports,
      jwtSecret: LOCAL_JWT_SECRET,
      denoDir: denoCacheDir(),
      log,
    });
  } catch (error) {
    if (error instanceof AlreadyRunningError) throw new CliError('already_running', error.message);
    throw error;
  }
  const { info } = stack;
  exitHook((done: () => void) => {
    process.stdout.write('\nStopping Strata…\n');
    stack.stop().then(
      () => {
        process.stdout.write('Stopped.\n');
        done();
      },
      () => done(),
    );
  });

  process.stdout.write('\nStrata local stack is running.\n\n');
  printFields([...stackFields(info), ['Data', info.stateDir]]);
  process.stdout.write(
    '\nServed: Edge Functions (/functions/v1) and Auth (/auth/v1: supabase.auth.signUp, signInWithPassword, getUser, refreshSession, signOut).' +
      '\nNot served locally: the Data API, Realtime, Storage (use a hosted project or `supabase start`).' +
      '\nA user for scripts: npx strata user create you@example.com\nPress Ctrl-C to stop.\n\n',
  );
  return new Promise<number>(() => {});
}
