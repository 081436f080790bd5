// Reads each function's verify_jwt from supabase/config.toml, the setting
// `supabase functions deploy` honours. Only the [functions.<name>] tables are
// read; Supabase's default is verify_jwt = true.
import { readFileSync } from 'node:fs';

export function readVerifyJwt(configTomlPath: string): Map<string, boolean> {
  const settings = new Map<string, boolean>();
  let current: string | null = null;
  for (const raw of readFileSync(configTomlPath, 'utf8').split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    const section = /^\[functions\.("?)([A-Za-z0-9_-]+)\1\]$/.exec(line);
    if (section) {
      current = section[2]!;
      continue;
    }
    if (line.startsWith('[')) {
      current = null;
      continue;
    }
    const setting = /^verify_jwt\s*=\s*(true|false)$/.exec(line);
    if (current && setting) settings.set(current, setting[1] === 'true');
  }
  return settings;
}
