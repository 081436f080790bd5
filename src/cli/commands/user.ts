// strata user create EMAIL: a confirmed local user for scripts (frontends
// sign up through supabase-js: the local API answers GoTrue's password routes).
// Creates the user in auth.users, as GoTrue's admin API would, and prints its
// id and an access token signed with the stack's JWT secret.
import postgres from 'postgres';
import { z } from 'zod';
import { userAccessToken } from '../../auth/jwt.ts';
import { findOrCreateConfirmedUser } from '../../dev/auth/store.ts';
import { readState } from '../../dev/state.ts';
import { checkAction } from '../args.ts';
import { CliError, printFields, printJson, type ParsedArgs } from '../output.ts';
import { stateDir } from '../project.ts';

export const USER_USAGE = `Usage:
  strata user create EMAIL [--expires-in SECONDS] [--json]
      Create a user on the local stack (or find it) and print its id and an access token;
      the token expires after --expires-in seconds (default: the stack's JWT expiry, 3600)`;

const Email = z.string().trim().toLowerCase().email().max(254);

export async function userCommand(args: ParsedArgs): Promise<number> {
  checkAction(args, USER_USAGE, { create: { positional: ['EMAIL'], flags: ['json'], valueFlags: ['expires-in'] } });
  const rawEmail = args.positional[1]!;
  const json = args.flags.has('json');
  const email = Email.safeParse(rawEmail);
  if (!email.success) throw new CliError('invalid_email', `"${rawEmail}" is not an e-mail address.`);
  const expiresRaw = args.flags.get('expires-in');
  if (expiresRaw !== undefined && !(Number.isInteger(Number(expiresRaw)) && Number(expiresRaw) >= 1)) {
    throw new CliError('invalid_arguments', `--expires-in must be a positive whole number of seconds.\n${USER_USAGE}`);
  }
  const info = await readState(stateDir());
  if (!info) throw new CliError('not_running', 'Strata is not running. Start it with "npm start".');
  const expiresIn = expiresRaw === undefined ? info.jwtExpirySeconds : Number(expiresRaw);

  const sql = postgres(info.dbUrl, { max: 1, onnotice: () => {} });
  let row: { id: string; email: string; created: boolean };
  try {
    row = await findOrCreateConfirmedUser(sql, email.data);
  } finally {
    await sql.end();
  }

  const { token, expiresAt } = userAccessToken(row, info.jwtSecret, {
    issuer: `${info.apiUrl}/auth/v1`,
    expiresInSeconds: expiresIn,
  });
  const result = { id: row.id, email: row.email, created: row.created, access_token: token, expires_at: expiresAt };
  if (json) printJson(result);
  else {
    printFields([
      ['user id', row.id],
      ['email', row.email],
      ['created', row.created ? 'yes' : 'no (already existed)'],
      ['access token', token],
      ['expires', new Date(expiresAt * 1000).toISOString()],
    ]);
  }
  return 0;
}
