// Output for people and for programs: every command prints readable text by
// default and one JSON document with --json.

export class CliError extends Error {
  override readonly name = 'CliError' as const;
  constructor(
    readonly code: string,
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export const isCliError = (error: unknown): error is CliError =>
  error instanceof Error && (error as { name?: string }).name === 'CliError';

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** Aligned "label: value" lines, like `supabase start` prints. */
export function printFields(rows: Array<[string, string | number]>): void {
  const width = Math.max(...rows.map(([label]) => label.length));
  for (const [label, value] of rows) process.stdout.write(`${label.padStart(width)}: ${value}\n`);
}

export function printError(error: unknown, json: boolean): number {
  // -h or --help after a command: its usage, on stdout, and success.
  if (isCliError(error) && error.code === 'help') {
    process.stdout.write(`${error.message}\n`);
    return 0;
  }
  const code = isCliError(error) ? error.code : 'unexpected_error';
  const message = error instanceof Error ? error.message : String(error);
  if (json) process.stdout.write(JSON.stringify({ error: { code, message } }) + '\n');
  else process.stderr.write(`error: ${message}\n`);
  return isCliError(error) ? error.exitCode : 1;
}

export interface ParsedArgs {
  positional: string[];
  flags: Map<string, string | true>;
}

/**
 * --name value, --name=value and bare --flag; everything else is positional.
 * A value flag without its value (last, or followed by another --option) is
 * kept as `true`, for the command's argument check to report with its usage.
 */
export function parseArgs(argv: string[], valueFlags: string[] = []): ParsedArgs {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const [name, inline] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    if (inline !== undefined) flags.set(name, inline);
    else if (valueFlags.includes(name) && argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('--')) flags.set(name, argv[++i]!);
    else flags.set(name, true);
  }
  return { positional, flags };
}

/** The stack's URLs and keys, as `start` and `status` print them. */
export function stackFields(info: {
  apiUrl: string; functionsUrl: string; dbUrl: string; s3Endpoint: string; s3Bucket: string;
  s3AccessKeyId: string; s3SecretAccessKey: string; jwtSecret: string; anonKey: string; serviceRoleKey: string;
}): Array<[string, string]> {
  return [
    ['API URL', info.apiUrl],
    ['Functions URL', info.functionsUrl],
    ['DB URL', info.dbUrl],
    ['S3 endpoint', info.s3Endpoint],
    ['S3 bucket', info.s3Bucket],
    ['S3 access key', `${info.s3AccessKeyId} / ${info.s3SecretAccessKey}`],
    ['JWT secret', info.jwtSecret],
    ['anon key', info.anonKey],
    ['service_role key', info.serviceRoleKey],
  ];
}

/** A duration for people: "45s", "3m 12s", "2h 5m", "3d 4h". */
export function formatAge(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

/** Columns aligned under their headers; numbers to the right, text to the left. */
export function printTable(headers: string[], rows: Array<Array<string | number>>): void {
  const cells = rows.map((row) => row.map(String));
  const widths = headers.map((header, i) => Math.max(header.length, ...cells.map((row) => row[i]!.length)));
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((row) => typeof row[i] === 'number'));
  const line = (row: string[]) =>
    row.map((cell, i) => (numeric[i] ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ').trimEnd() + '\n';
  process.stdout.write(line(headers));
  for (const row of cells) process.stdout.write(line(row));
}
