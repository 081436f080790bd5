// Every function keeps verify_jwt on: the functions read the caller from the
// JWT's claims and rely on the gateway to have verified it. Each function
// also has its two-line index.ts and deploys on its own: its own deno.json
// (what `supabase functions deploy` uploads with it), the same pinned map as
// supabase/functions/deno.json (what the dev stack and `deno check` use).
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/cli/project.ts';
import { readImportMaps, readVerifyJwt } from '../../src/dev/function-config.ts';

const FUNCTIONS_DIR = path.join(PROJECT_ROOT, 'supabase', 'functions');

describe('function configuration', async () => {
  const names = (await readdir(FUNCTIONS_DIR, { withFileTypes: true }))
    .filter((entry) => entry.isDirectory() && !entry.name.startsWith('_'))
    .map((entry) => entry.name);
  const verify = readVerifyJwt(path.join(PROJECT_ROOT, 'supabase', 'config.toml'));

  it('knows the functions', () => {
    expect(names.sort()).toEqual(['analyses', 'archive', 'archive-worker', 'conversations', 'files', 'health', 'storage']);
  });

  it.each(names)('%s has verify_jwt = true in config.toml', (name) => {
    expect(verify.get(name)).toBe(true);
  });

  it.each(names)('%s/index.ts only wires the shared handler to Deno.serve', async (name) => {
    const source = await readFile(path.join(FUNCTIONS_DIR, name, 'index.ts'), 'utf8');
    expect(source.trim().split('\n').filter((l) => l.trim()).length).toBeLessThanOrEqual(3);
    expect(source).toContain('Deno.serve(');
  });

  const sharedMap = async () => JSON.parse(await readFile(path.join(FUNCTIONS_DIR, 'deno.json'), 'utf8')) as unknown;

  it.each(names)('%s has its own deno.json, the shared pinned map', async (name) => {
    const own = JSON.parse(await readFile(path.join(FUNCTIONS_DIR, name, 'deno.json'), 'utf8')) as unknown;
    expect(own).toEqual(await sharedMap());
  });

  it('leaves each function to its own deno.json in config.toml (an import_map entry would replace it)', () => {
    const maps = readImportMaps(path.join(PROJECT_ROOT, 'supabase', 'config.toml'));
    for (const name of names) {
      const map = maps.get(name);
      if (map !== undefined) expect(path.normalize(map), name).toBe(path.normalize(`./functions/${name}/deno.json`));
    }
  });

  it('pins every bare import of the shared code in deno.json, at the versions package.json installs', async () => {
    const denoJson = JSON.parse(await readFile(path.join(FUNCTIONS_DIR, 'deno.json'), 'utf8')) as { imports: Record<string, string> };
    const pkg = JSON.parse(await readFile(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    for (const [name, target] of Object.entries(denoJson.imports)) {
      expect(target).toBe(`npm:${name}@${pkg.dependencies[name]}`);
    }
  });
});
