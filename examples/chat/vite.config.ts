// The chat example's Vite config: plain TypeScript and DOM, no plugins. The
// Strata client comes from the repo's package source (`@strata/client`). The
// stack's API URL and anon key are added by serve.ts (`define`), which reads
// them from the running stack.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export const EXAMPLE_ROOT = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(EXAMPLE_ROOT, '..', '..');

export default defineConfig({
  root: EXAMPLE_ROOT,
  // Inside the example (git-ignored), not in the repo's node_modules.
  cacheDir: path.join(EXAMPLE_ROOT, 'node_modules', '.vite'),
  resolve: {
    alias: { '@strata/client': path.join(REPO_ROOT, 'packages', 'client', 'src', 'index.ts') },
  },
  // The client's sources live outside the example's folder.
  server: { host: '127.0.0.1', fs: { allow: [REPO_ROOT] } },
  preview: { host: '127.0.0.1' },
  build: { outDir: path.join(EXAMPLE_ROOT, 'dist'), emptyOutDir: true },
});
