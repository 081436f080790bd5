// What the database needs to wake the worker: the Vault secrets
// private.wake_workers reads (strata_api_url, strata_service_role_key), and a
// worker that answers them. The worker is asked exactly as a wake-up would
// reach it, at the stored URL with the stored key, on its read-only status
// route (GET /functions/v1/archive-worker/status), so no work is started.
import type { EnvGetter } from '../../../supabase/functions/_shared/config.ts';
import type { Sql } from '../../../supabase/functions/_shared/db/client.ts';
import { errorLine, fail, ok, warn, type Check } from './check.ts';

export const API_URL_SECRET = 'strata_api_url';
export const SERVICE_KEY_SECRET = 'strata_service_role_key';

export type WakeSecrets =
  | { readable: true; apiUrl: string | null; serviceKey: string | null }
  | { readable: false; problem: string };

export async function readWakeSecrets(sql: Sql): Promise<WakeSecrets> {
  const [vault] = await sql<{ present: boolean }[]>`
    select exists (select 1 from pg_class c join pg_namespace n on n.oid = c.relnamespace
                    where n.nspname = 'vault' and c.relname = 'decrypted_secrets') as present`;
  if (!vault!.present) return { readable: false, problem: 'there is no Vault (vault.decrypted_secrets)' };
  try {
    const rows = await sql<{ name: string; value: string | null }[]>`
      select name, decrypted_secret as value from vault.decrypted_secrets where name in (${API_URL_SECRET}, ${SERVICE_KEY_SECRET})`;
    const value = (name: string) => rows.find((row) => row.name === name)?.value?.trim() || null;
    return { readable: true, apiUrl: value(API_URL_SECRET), serviceKey: value(SERVICE_KEY_SECRET) };
  } catch (error) {
    return { readable: false, problem: `cannot read vault.decrypted_secrets as this role: ${errorLine(error)}` };
  }
}

const trimSlash = (url: string) => url.replace(/\/+$/, '');
const isHttpUrl = (text: string) => {
  try {
    return ['http:', 'https:'].includes(new URL(text).protocol);
  } catch {
    return false;
  }
};

export function vaultCheck(secrets: WakeSecrets, env: EnvGetter): Check {
  const name = 'vault_secrets';
  if (!secrets.readable) {
    return fail(name, `${secrets.problem}: the database cannot wake the worker`, 'Connect as the role that runs the migrations (postgres on Supabase), where the Vault is readable.');
  }
  const create = (secret: string, value: string) => `select vault.create_secret('${value}', '${secret}');`;
  const missing = [
    ...(secrets.apiUrl ? [] : [API_URL_SECRET]),
    ...(secrets.serviceKey ? [] : [SERVICE_KEY_SECRET]),
  ];
  if (missing.length > 0) {
    return fail(
      name,
      `${missing.join(' and ')} ${missing.length === 1 ? 'is' : 'are'} missing from the Vault: the database cannot wake the worker (jobs wait for "strata archive work")`,
      [
        ...(secrets.apiUrl ? [] : [create(API_URL_SECRET, env('SUPABASE_URL') ?? 'https://<ref>.supabase.co')]),
        ...(secrets.serviceKey ? [] : [create(SERVICE_KEY_SECRET, '<service_role key>')]),
      ].join(' '),
    );
  }
  if (!isHttpUrl(secrets.apiUrl!)) {
    return fail(name, `${API_URL_SECRET} is not an http(s) URL: '${secrets.apiUrl}'`,
      `select vault.update_secret((select id from vault.secrets where name = '${API_URL_SECRET}'), 'https://<ref>.supabase.co');`);
  }
  const expected = env('SUPABASE_URL')?.trim();
  if (expected && trimSlash(expected) !== trimSlash(secrets.apiUrl!)) {
    return warn(name, `${API_URL_SECRET} is ${secrets.apiUrl}, but SUPABASE_URL is ${expected}`,
      `select vault.update_secret((select id from vault.secrets where name = '${API_URL_SECRET}'), '${expected}');`);
  }
  return ok(name, `${API_URL_SECRET} (${secrets.apiUrl}) and ${SERVICE_KEY_SECRET} are set`);
}

const STATUS_TIMEOUT_MS = 10_000;

/** GET {strata_api_url}/functions/v1/archive-worker/status with the stored key answers 200. */
export async function workerCheck(secrets: WakeSecrets, env: EnvGetter, fetchImpl: typeof fetch = fetch): Promise<Check> {
  const name = 'worker';
  if (!secrets.readable || !secrets.apiUrl || !secrets.serviceKey || !isHttpUrl(secrets.apiUrl)) {
    return warn(name, 'not checked: the Vault has no usable worker URL and key (see vault_secrets)');
  }
  const url = `${trimSlash(secrets.apiUrl)}/functions/v1/archive-worker/status`;
  let response: Response;
  try {
    response = await fetchImpl(url, {
      headers: { authorization: `Bearer ${secrets.serviceKey}` },
      signal: AbortSignal.timeout(STATUS_TIMEOUT_MS),
    });
  } catch (error) {
    const cause = (error as { cause?: unknown }).cause;
    return fail(name, `cannot reach ${url}: ${errorLine(cause ?? error)}`,
      `Check ${API_URL_SECRET} (the project URL, https://<ref>.supabase.co) and that the functions are served.`);
  }
  const body = await response.text().catch(() => '');
  if (response.status === 200) return ok(name, `archive-worker answered 200 at ${url} to the stored key`);
  if (response.status === 401) {
    const known = env('SUPABASE_SERVICE_ROLE_KEY')?.trim();
    const differs = known && known !== secrets.serviceKey ? ' (it also differs from SUPABASE_SERVICE_ROLE_KEY here)' : '';
    return fail(
      name,
      `archive-worker answered 401 to the stored ${SERVICE_KEY_SECRET}: it is not the service role key the functions compare against${differs}, so every wake-up is refused`,
      `select vault.update_secret((select id from vault.secrets where name = '${SERVICE_KEY_SECRET}'), '<service_role key>');`,
    );
  }
  if (response.status === 404) {
    return fail(name, `${url} answered 404: archive-worker is not deployed there`,
      `npx supabase functions deploy archive-worker (or correct ${API_URL_SECRET}).`);
  }
  let message = '';
  try {
    const parsed = JSON.parse(body) as { error?: { code?: string; message?: string } };
    if (parsed.error?.message) message = `: ${parsed.error.code ?? 'error'}: ${parsed.error.message}`;
  } catch {
    // Not our JSON error: the status says enough.
  }
  return fail(name, `archive-worker answered ${response.status} at ${url}${message}`,
    'Check the function\'s logs and secrets (npx supabase functions logs archive-worker; SUPABASE_DB_URL, the S3 variables).');
}
