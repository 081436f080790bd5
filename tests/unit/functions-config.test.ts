// Every function keeps verify_jwt on: the functions read the caller from the
// JWT's claims and rely on the gateway to have verified it. Each function
// also has its two-line index.ts and the shared import map.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/cli/project.ts';
import { readVerifyJwt } from '../../src/dev/function-config.ts';

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

  it('pins every bare import of the shared code in deno.json, at the versions package.json installs', async () => {
    const denoJson = JSON.parse(await readFile(path.join(FUNCTIONS_DIR, 'deno.json'), 'utf8')) as { imports: Record<string, string> };
    const pkg = JSON.parse(await readFile(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    for (const [name, target] of Object.entries(denoJson.imports)) {
      expect(target).toBe(`npm:${name}@${pkg.dependencies[name]}`);
    }
  });
});
