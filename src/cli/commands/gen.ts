// strata gen types: regenerates the checked-in database types from the
// running stack's database (after changing a migration).
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { readState } from '../../dev/state.ts';
import { DATABASE_TYPES_PATH, generateTypes } from '../../dev/types.ts';
import { checkAction } from '../args.ts';
import { CliError, printJson, type ParsedArgs } from '../output.ts';
import { PROJECT_ROOT, stateDir } from '../project.ts';

export const GEN_USAGE = `Usage:
  strata gen types [--json]   Regenerate ${DATABASE_TYPES_PATH} from the running stack's database`;

export async function genCommand(args: ParsedArgs): Promise<number> {
  checkAction(args, GEN_USAGE, { types: { flags: ['json'] } });
  const info = await readState(stateDir());
  if (!info) throw new CliError('not_running', 'Strata is not running. Start it with "npm start".');
  const types = await generateTypes(info.dbUrl, PROJECT_ROOT);
  const target = path.join(PROJECT_ROOT, DATABASE_TYPES_PATH);
  await writeFile(target, types);
  if (args.flags.has('json')) printJson({ written: DATABASE_TYPES_PATH, bytes: Buffer.byteLength(types) });
  else process.stdout.write(`Wrote ${DATABASE_TYPES_PATH} (${Buffer.byteLength(types)} bytes).\n`);
  return 0;
}
