// Builds @strata/client into dist/: one ESM file by esbuild (the client has no
// runtime dependencies; supabase-js is the app's, passed in) and declarations
// by tsc. The API types live beside the functions that answer them
// (supabase/functions/_shared/*/api-types.ts), so the declarations keep the
// repository's layout under dist/types; dist/index.d.ts points at them.
import { spawnSync } from 'node:child_process';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.join(here, 'dist');
const require = createRequire(import.meta.url);

await rm(dist, { recursive: true, force: true });

await build({
  entryPoints: [path.join(here, 'src/index.ts')],
  outfile: path.join(dist, 'index.js'),
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  target: 'es2022',
  sourcemap: true,
  logLevel: 'warning',
});

const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(here, 'tsconfig.build.json')], { stdio: 'inherit' });
if (tsc.status !== 0) throw new Error(`tsc (declarations) failed with status ${tsc.status}`);

// The sources import with .ts extensions (Deno needs them); declarations for
// npm consumers name the .js files, which every moduleResolution maps to .d.ts.
for (const entry of await readdir(path.join(dist, 'types'), { recursive: true })) {
  if (!entry.endsWith('.d.ts')) continue;
  const file = path.join(dist, 'types', entry);
  const text = await readFile(file, 'utf8');
  await writeFile(file, text.replace(/(from\s+'\.{1,2}\/[^']*)\.ts'/g, "$1.js'"));
}
await writeFile(path.join(dist, 'index.d.ts'), "export * from './types/packages/client/src/index.js';\n");
