// Every CLI command checks its arguments before it does anything: an unknown
// option, a missing or an extra argument is invalid_arguments with the
// command's usage in the message; --help prints that usage. Run in-process,
// with no stack: arguments that pass the check reach the command's first real
// step, which fails here with no_target, not_running or invalid_port.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.ts';

const ID = '5f0c7f3e-0c5c-4b4e-9a39-2d7f2f0b8a11';
const saved = { ...process.env };
let stateDir: string;

beforeAll(async () => {
  stateDir = await mkdtemp(path.join(tmpdir(), 'strata-cli-args-'));
  // No stack runs from here and no deployment is named; a start that got past
  // its check would stop at this port, never start anything.
  process.env.STRATA_STATE_DIR = stateDir;
  process.env.STRATA_API_PORT = 'not-a-port';
  delete process.env.SUPABASE_DB_URL;
  delete process.env.S3_BUCKET_NAME; // it names a deployment's bucket for bucket setup
});

afterAll(async () => {
  process.env = saved;
  await rm(stateDir, { recursive: true, force: true });
});

async function strata(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true));
  try {
    const code = await main(argv);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

/** The commands `strata --help` lists. */
async function listedCommands(): Promise<string[]> {
  const help = (await strata('--help')).stdout;
  return [...new Set([...help.matchAll(/^ {2}([a-z][a-z-]*)\b/gm)].map((match) => match[1]!))];
}

// [arguments, what the message says (before the usage), the usage line it ends with]
const REFUSED: Array<[string[], string, string]> = [
  [['start', '--json'], 'Unknown option --json.', 'strata start'],
  [['start', 'now'], 'Unexpected argument "now".', 'strata start'],
  [['status', '--verbose'], 'Unknown option --verbose.', 'strata status [--json]'],
  [['status', 'extra'], 'Unexpected argument "extra".', 'strata status [--json]'],
  [['user'], 'Missing the action (create).', 'strata user create EMAIL'],
  [['user', 'delete', 'me@example.com'], 'Unknown action "delete".', 'strata user create EMAIL'],
  [['user', 'create'], 'Missing EMAIL.', 'strata user create EMAIL'],
  [['user', 'create', 'me@example.com', 'you@example.com'], 'Unexpected argument "you@example.com".', 'strata user create EMAIL'],
  [['user', 'create', 'me@example.com', '--expires', '60'], 'Unknown option --expires.', '[--expires-in SECONDS]'],
  [['user', 'create', 'me@example.com', '--expires-in'], '--expires-in needs a value.', '[--expires-in SECONDS]'],
  [['user', 'create', 'me@example.com', '--expires-in', '--json'], '--expires-in needs a value.', '[--expires-in SECONDS]'],
  [['user', 'create', 'me@example.com', '--expires-in', '0'], '--expires-in must be a positive whole number of seconds.', '[--expires-in SECONDS]'],
  [['user', 'create', 'me@example.com', '--json=yes'], '--json takes no value.', 'strata user create EMAIL'],
  [['gen'], 'Missing the action (types).', 'strata gen types [--json]'],
  [['gen', 'types', '--force'], 'Unknown option --force.', 'strata gen types [--json]'],
  [['gen', 'types', 'extra'], 'Unexpected argument "extra".', 'strata gen types [--json]'],
  [['archive'], 'Missing the action (status, work, retry, rebuild-index, restore).', 'strata archive status'],
  [['archive', 'purge'], 'Unknown action "purge".', 'strata archive status'],
  [['archive', '--bogus'], 'Unknown option --bogus.', 'strata archive status'],
  [['archive', 'status', '--user', 'me@example.com'], 'Unknown option --user for "status".', 'strata archive status'],
  [['archive', 'status', 'extra'], 'Unexpected argument "extra".', 'strata archive status'],
  [['archive', 'work', '--budget'], '--budget needs a value.', 'strata archive work [--budget SECONDS]'],
  [['archive', 'work', '--budgett', '5'], 'Unknown option --budgett.', 'strata archive work'],
  [['archive', 'work', '--metadata-json'], 'Unknown option --metadata-json for "work".', 'strata archive work'],
  [['archive', 'retry', '--conversation'], '--conversation needs a value.', 'strata archive retry'],
  [['archive', 'rebuild-index', '--metadata-json=yes'], '--metadata-json takes no value.', 'strata archive rebuild-index'],
  [['archive', 'restore'], 'Missing CONVERSATION_ID.', 'strata archive restore CONVERSATION_ID --user USER'],
  [['archive', 'restore', ID], 'Missing --user.', 'strata archive restore CONVERSATION_ID --user USER'],
  [['archive', 'restore', ID, 'extra', '--user', 'me@example.com'], 'Unexpected argument "extra".', 'strata archive restore'],
  [['jobs'], 'Missing the action (status).', 'strata jobs status [--json]'],
  [['jobs', 'status', '--verbose'], 'Unknown option --verbose.', 'strata jobs status [--json]'],
  [['jobs', 'status', 'extra'], 'Unexpected argument "extra".', 'strata jobs status [--json]'],
  [['doctor', '--fix'], 'Unknown option --fix.', 'strata doctor [--json]'],
  [['doctor', 'now'], 'Unexpected argument "now".', 'strata doctor [--json]'],
  [['expire', '--dry-run'], 'Unknown option --dry-run.', 'strata expire [--json]'],
  [['expire', '-n'], 'Unknown option -n.', 'strata expire [--json]'],
  [['expire', 'now'], 'Unexpected argument "now".', 'strata expire [--json]'],
  [['storage'], 'Missing the action (info).', 'strata storage info [--json]'],
  [['storage', 'info', '--fix'], 'Unknown option --fix.', 'strata storage info [--json]'],
  [['storage', 'info', 'extra'], 'Unexpected argument "extra".', 'strata storage info [--json]'],
  [['bucket', 'create'], 'Unknown action "create".', 'strata bucket setup [--json]'],
  [['bucket', 'setup', '--yes'], 'Unknown option --yes.', 'strata bucket setup [--json]'],
  [['verify', 'extra'], 'Unexpected argument "extra".', 'strata verify [--fix] [--grace-hours HOURS] [--json]'],
  [['verify', '--dry-run'], 'Unknown option --dry-run.', 'strata verify [--fix]'],
  [['verify', '--fix', '--grace-hours'], '--grace-hours needs a value.', 'strata verify [--fix]'],
  [['migrate-local'], 'Missing DIR.', 'strata migrate-local DIR [--user ID_OR_EMAIL] [--json]'],
  [['migrate-local', 'one', 'two'], 'Unexpected argument "two".', 'strata migrate-local DIR'],
  [['migrate-local', 'dir', '--usr', 'me@example.com'], 'Unknown option --usr.', 'strata migrate-local DIR'],
];

// Arguments that pass the check: the command goes on to its first real step.
const ACCEPTED: Array<[string[], string]> = [
  [['start'], 'invalid_port'],
  [['status', '--json'], 'not_running'],
  [['user', 'create', 'me@example.com', '--expires-in', '60', '--json'], 'not_running'],
  [['user', 'create', 'me@example.com', '--expires-in=86400'], 'not_running'],
  [['gen', 'types'], 'not_running'],
  [['archive', 'status', '--json'], 'no_target'],
  [['archive', 'work', '--budget', '5'], 'no_target'],
  [['archive', 'retry', '--conversation', ID], 'no_target'],
  [['archive', 'rebuild-index', '--metadata-json', '--json'], 'no_target'],
  [['archive', 'restore', ID, '--user', 'me@example.com'], 'no_target'],
  [['archive', 'restore', '--user=me@example.com', ID, '--json'], 'no_target'],
  [['jobs', 'status'], 'no_target'],
  [['doctor', '--json'], 'no_target'],
  [['expire', '--json'], 'no_target'],
  [['storage', 'info'], 'no_target'],
  [['bucket', 'setup', '--json'], 'no_target'],
  [['verify', '--fix', '--grace-hours', '0', '--json'], 'no_target'],
  [['migrate-local', 'some/dir', '--user', 'me@example.com'], 'no_target'],
];

describe('strata arguments', () => {
  it('the tables cover every command strata --help lists', async () => {
    const commands = await listedCommands();
    expect(commands).toEqual(expect.arrayContaining(['start', 'archive', 'expire', 'migrate-local']));
    for (const command of commands) {
      expect(REFUSED.some(([argv]) => argv[0] === command), `${command} in REFUSED`).toBe(true);
      expect(ACCEPTED.some(([argv]) => argv[0] === command), `${command} in ACCEPTED`).toBe(true);
    }
  });

  it.each(REFUSED)('refuses %j: %s', async (argv, problem, usage) => {
    // In text on stderr; with --json (given, or added) as a JSON error on stdout.
    if (!argv.includes('--json')) {
      const text = await strata(...argv);
      expect(text.code).toBe(1);
      expect(text.stdout).toBe('');
      expect(text.stderr).toMatch(/^error: /);
      expect(text.stderr).toContain(`error: ${problem}\nUsage:`);
      expect(text.stderr).toContain(usage);
    }
    // Adding --json would replace the value refused here; start takes no --json (it would be the problem).
    if (argv.includes('--json=yes') || (argv[0] === 'start' && !argv.includes('--json'))) return;
    const json = await strata(...argv, ...(argv.includes('--json') ? [] : ['--json']));
    expect(json.code).toBe(1);
    expect(json.stderr).toBe('');
    const { error } = JSON.parse(json.stdout);
    expect(error).toEqual({ code: 'invalid_arguments', message: expect.stringContaining(`${problem}\nUsage:`) });
    expect(error.message).toContain(usage);
  });

  const SAYS: Record<string, string> = {
    no_target: 'Set SUPABASE_DB_URL',
    not_running: 'Strata is not running',
    invalid_port: 'STRATA_API_PORT must be a port number',
  };
  it.each(ACCEPTED)('accepts %j (then stops at %s without a stack)', async (argv, code) => {
    const result = await strata(...argv);
    expect(result.code).toBe(1);
    if (argv.includes('--json')) expect(JSON.parse(result.stdout).error.code, result.stdout).toBe(code);
    else expect(result.stderr).toContain(`error: ${SAYS[code]}`);
  });

  it('every command refuses an unknown option and answers --help with its usage', async () => {
    for (const command of await listedCommands()) {
      const refused = await strata(command, '--no-such-option');
      expect(refused.code, command).toBe(1);
      expect(refused.stderr, command).toMatch(/^error: Unknown option --no-such-option\.\nUsage:\n {2}strata /);

      for (const help of ['--help', '-h']) {
        const answered = await strata(command, help);
        expect(answered.code, `${command} ${help}`).toBe(0);
        expect(answered.stdout, `${command} ${help}`).toMatch(new RegExp(`^Usage:\\n {2}strata ${command}\\b`));
        expect(answered.stderr).toBe('');
      }
    }
  });

  it('an unknown command names itself and points to --help', async () => {
    const result = await strata('deploy');
    expect(result).toMatchObject({ code: 1, stderr: 'error: Unknown command "deploy". Run "strata --help".\n' });
  });
});
