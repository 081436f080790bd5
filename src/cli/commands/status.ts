// strata status [--json]: the running stack's URLs and keys, like `supabase status`.
import { readState } from '../../dev/state.ts';
import { checkArgs } from '../args.ts';
import { CliError, printFields, printJson, stackFields, type ParsedArgs } from '../output.ts';
import { stateDir } from '../project.ts';

export const STATUS_USAGE = `Usage:
  strata status [--json]   Show the running local stack's URLs and keys`;

async function checkHealth(functionsUrl: string, anonKey: string): Promise<string> {
  try {
    const response = await fetch(`${functionsUrl}/health`, {
      headers: { authorization: `Bearer ${anonKey}` },
      signal: AbortSignal.timeout(3000),
    });
    const body = (await response.json()) as { status?: string };
    return body.status ?? `HTTP ${response.status}`;
  } catch {
    return 'unreachable';
  }
}

export async function statusCommand(args: ParsedArgs): Promise<number> {
  checkArgs(args, STATUS_USAGE, { flags: ['json'] });
  const json = args.flags.has('json');
  const info = await readState(stateDir());
  if (!info) throw new CliError('not_running', `Strata is not running from ${stateDir()}. Start it with "npm start".`);
  const health = await checkHealth(info.functionsUrl, info.anonKey);
  if (json) {
    printJson({ running: true, health, ...info });
    return 0;
  }
  printFields([...stackFields(info), ['health', health], ['pid', info.pid], ['started', info.startedAt]]);
  return 0;
}
