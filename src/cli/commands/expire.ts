// strata expire: runs the expiry sweep now (it also runs hourly), with the
// deployment's policy, and prints what it did.
import postgres from 'postgres';
import { printFields, printJson, type ParsedArgs } from '../output.ts';
import { resolveTargetEnv } from '../target.ts';

export async function expireCommand(args: ParsedArgs): Promise<number> {
  const json = args.flags.has('json');
  const { env, source } = await resolveTargetEnv();
  const sql = postgres(env('SUPABASE_DB_URL')!, { max: 1, onnotice: () => {}, prepare: false });
  try {
    const [due] = await sql`select count(*)::int as n from public.conversations where expires_at <= now() and deleted_at is null`;
    if (!json) process.stderr.write(`${due!.n} expired conversation(s) to handle on ${source}…\n`);
    // A procedure that commits between batches: called outside a transaction, with the simple protocol.
    const [{ report }] = await sql.unsafe('call private.expire_conversations()');
    if (json) printJson(report);
    else printFields([['policy', report.policy], ['expired', report.expired], ['batches', report.batches], ['run', report.run]]);
    return 0;
  } finally {
    await sql.end({ timeout: 5 });
  }
}
