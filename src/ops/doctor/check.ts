// One line of `strata doctor`: what was checked, how it stands, and what to
// do about it. ok: nothing to do; warn: works, but something is degraded or
// could not be checked; fail: something Strata relies on is broken.

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface Check {
  /** Stable identifier (scripts match on it): pg_net, vault_secrets, s3_bucket, ... */
  name: string;
  status: CheckStatus;
  /** What was found, in one line. */
  detail: string;
  /** What to do, when there is something to do. */
  fix?: string;
}

export interface DoctorReport {
  /** 'local stack' or 'environment' (the deployment named by SUPABASE_DB_URL). */
  target: string;
  checks: Check[];
}

export const ok = (name: string, detail: string): Check => ({ name, status: 'ok', detail });
export const warn = (name: string, detail: string, fix?: string): Check => ({ name, status: 'warn', detail, ...(fix ? { fix } : {}) });
export const fail = (name: string, detail: string, fix?: string): Check => ({ name, status: 'fail', detail, ...(fix ? { fix } : {}) });

/** An error as one line: its message (database and network errors carry no secrets in it). */
export function errorLine(error: unknown): string {
  const e = error as { message?: string; code?: string } | null;
  const message = (e?.message ?? String(error)).replace(/\s+/g, ' ').trim();
  return message || e?.code || 'unknown error';
}

/** Runs one check; an error it did not expect becomes that check's failure instead of stopping the others. */
export async function guarded(name: string, run: () => Promise<Check>): Promise<Check> {
  try {
    return await run();
  } catch (error) {
    return fail(name, `could not check: ${errorLine(error)}`);
  }
}
