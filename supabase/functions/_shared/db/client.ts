// One postgres.js pool per function instance, on SUPABASE_DB_URL.
// prepare: false keeps it compatible with Supabase's transaction pooler.
import postgres from 'postgres';

export type Sql = postgres.Sql;

export function createSql(dbUrl: string, options: { max?: number; applicationName?: string } = {}): Sql {
  return postgres(dbUrl, {
    max: options.max ?? 5,
    prepare: false,
    idle_timeout: 20,
    connect_timeout: 10,
    onnotice: () => {},
    connection: { application_name: options.applicationName ?? 'strata-function' },
  });
}
