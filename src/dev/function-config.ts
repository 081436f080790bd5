// Reads the [functions.<name>] tables of supabase/config.toml, which
// `supabase functions deploy` honours: verify_jwt (Supabase's default is
// true) and import_map (when absent, the CLI uses the function's own
// deno.json). Other settings and tables are ignored.
import { readFileSync } from 'node:fs';

function readFunctionSetting(configTomlPath: string, key: string): Map<string, string> {
  const settings = new Map<string, string>();
  const setting = new RegExp(`^${key}\\s*=\\s*(.+)$`);
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
    const match = setting.exec(line);
    if (current && match) settings.set(current, match[1]!.trim());
  }
  return settings;
}

export function readVerifyJwt(configTomlPath: string): Map<string, boolean> {
  const settings = new Map<string, boolean>();
  for (const [name, value] of readFunctionSetting(configTomlPath, 'verify_jwt')) {
    if (value === 'true' || value === 'false') settings.set(name, value === 'true');
  }
  return settings;
}

/** import_map per function, as written (relative to supabase/). */
export function readImportMaps(configTomlPath: string): Map<string, string> {
  const maps = new Map<string, string>();
  for (const [name, value] of readFunctionSetting(configTomlPath, 'import_map')) {
    const quoted = /^"([^"]*)"$/.exec(value);
    maps.set(name, quoted ? quoted[1]! : value);
  }
  return maps;
}
