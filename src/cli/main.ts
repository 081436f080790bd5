// strata <command>: the dev stack and operations on a Strata deployment.
import { archiveCommand } from './commands/archive.ts';
import { doctorCommand } from './commands/doctor.ts';
import { expireCommand } from './commands/expire.ts';
import { genCommand } from './commands/gen.ts';
import { jobsCommand } from './commands/jobs.ts';
import { bucketCommand, migrateLocalCommand, storageCommand, verifyCommand } from './commands/storage.ts';
import { statusCommand } from './commands/status.ts';
import { userCommand } from './commands/user.ts';
import { CliError, parseArgs, printError } from './output.ts';

const USAGE = `Usage: strata <command> [options]

Local stack:
  start                      Start the whole local stack in the foreground (Ctrl-C stops it)
  status [--json]            Show the running stack's URLs and keys
  user create EMAIL [--expires-in SECONDS] [--json]
                             Create a local user and print its id and an access token
                             (valid for SECONDS; default the stack's JWT expiry, 3600)
  gen types                  Regenerate supabase/functions/_shared/database.types.ts

Archive (the local stack, or the deployment named by SUPABASE_DB_URL and the S3 variables):
  archive status [--json]             Queue counts, oldest pending job, dead jobs with their errors
  archive work [--budget S] [--json]  Run an archive worker here until no job is due
  archive retry [--conversation ID]   Queue dead-lettered jobs again
  archive rebuild-index [--metadata-json]  Rebuild the index from the S3 objects' metadata
  archive restore ID --user USER      Restore an archive of any size as its owner (user id or e-mail)

Jobs (the local stack, or the deployment named by SUPABASE_DB_URL):
  jobs status [--json]                Per kind: due, backing off, running, expired leases, dead,
                                      done in the last hour, oldest due job, last errors

Deployment check (the local stack, or the deployment named by SUPABASE_DB_URL and the S3 variables):
  doctor [--json]                     pg_net, pg_cron, cron jobs, Vault secrets, the worker, S3, migrations, queue:
                                      one line per check, ok / warn / fail with a fix (exit 1: a check failed)

Conversations:
  expire [--json]                     Run the expiry sweep now (archive or delete, per private.settings)

Storage:
  storage info [--json]               Bucket, region, prefix, versioning, encryption, totals by kind
  bucket setup [--json]               Create and configure the bucket (the S3 variables alone name a deployment's);
                                      reports settings the endpoint refuses
  verify [--fix] [--grace-hours H]    Compare S3 with every metadata table; --fix deletes old orphans
                                      (exit 1: problems found, 2: some rows could not be checked)
  migrate-local DIR [--user U]        Import a folder of JSON analyses and files, idempotently

Options:
  --json                     Print one JSON document instead of text
  -h, --help                 Show this help; after a command, that command's usage
`;

type Command = (args: ReturnType<typeof parseArgs>) => Promise<number>;

const COMMANDS: Record<string, { run: Command; valueFlags?: string[] }> = {
  // Loaded only when used: it pulls in the whole dev stack.
  start: { run: async (args) => (await import('./commands/start.ts')).startCommand(args) },
  status: { run: statusCommand },
  user: { run: userCommand, valueFlags: ['expires-in'] },
  gen: { run: genCommand },
  archive: { run: archiveCommand, valueFlags: ['budget', 'conversation', 'user'] },
  jobs: { run: jobsCommand },
  doctor: { run: doctorCommand },
  expire: { run: expireCommand },
  storage: { run: storageCommand },
  bucket: { run: bucketCommand },
  verify: { run: verifyCommand, valueFlags: ['grace-hours'] },
  'migrate-local': { run: migrateLocalCommand, valueFlags: ['user'] },
};

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '-h' || name === '--help' || name === 'help') {
    process.stdout.write(USAGE);
    return name ? 0 : 1;
  }
  const json = rest.includes('--json');
  const command = COMMANDS[name];
  try {
    if (!command) throw new CliError('unknown_command', `Unknown command "${name}". Run "strata --help".`);
    return await command.run(parseArgs(rest, command.valueFlags));
  } catch (error) {
    return printError(error, json);
  }
}
