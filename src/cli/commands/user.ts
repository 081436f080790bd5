// strata user create EMAIL: a confirmed local user for scripts (frontends
// sign up through supabase-js: the local API answers GoTrue's password routes).
// Creates the user in auth.users, as GoTrue's admin API would, and prints its
// id and an access token signed with the stack's JWT secret.
import postgres from 'postgres';
import { z } from 'zod';
import { userAccessToken } from '../../auth/jwt.ts';
import { findOrCreateConfirmedUser } from '../../dev/auth/store.ts';
import { readState } from '../../dev/state.ts';
import { CliError, printFields, printJson, type ParsedArgs } from '../output.ts';
import { stateDir } from '../project.ts';

const Email = z.string().trim().toLowerCase().email().max(254);

export async function userCommand(args: ParsedArgs): Promise<number> {
  const [action, rawEmail] = args.positional;
  const json = args.flags.has('json');
  if (action !== 'create' || !rawEmail) {
    throw new CliError('invalid_arguments', 'Usage: strata user create EMAIL [--expires-in SECONDS] [--json]');
  }
  const email = Email.safeParse(rawEmail);
  if (!email.success) throw new CliError('invalid_email', `"${rawEmail}" is not an e-mail address.`);
  const info = await readState(stateDir());
  if (!info) throw new CliError('not_running', 'Strata is not running. Start it with "npm start".');

  const expiresRaw = args.flags.get('expires-in');
  const expiresIn = expiresRaw === undefined ? info.jwtExpirySeconds : Number(expiresRaw);
  if (!Number.isInteger(expiresIn) || expiresIn < 1) {
    throw new CliError('invalid_arguments', '--expires-in must be a positive number of seconds.');
  }

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
