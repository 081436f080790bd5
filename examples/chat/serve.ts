// Serves or builds the chat example against a Strata stack: its API URL and
// anon key go into the page through Vite's `define`. `npm run example` runs
// this file: it reads the running local stack (`npm start`) from its state
// file and serves the page with Vite's dev server.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, createServer, mergeConfig, preview, type InlineConfig, type PreviewServer, type ViteDevServer } from 'vite';
import { stateDir } from '../../src/cli/project.ts';
import { readState } from '../../src/dev/state.ts';
import chatConfig, { EXAMPLE_ROOT } from './vite.config.ts';

/** What the page needs of a stack. */
export interface ChatTarget {
  apiUrl: string;
  anonKey: string;
}

/** The constants the page reads (declared in src/env.d.ts). */
export function chatDefine(target: ChatTarget): Record<string, string> {
  return {
    __STRATA_API_URL__: JSON.stringify(target.apiUrl),
    __STRATA_ANON_KEY__: JSON.stringify(target.anonKey),
  };
}

function configFor(target: ChatTarget, extra: InlineConfig): InlineConfig {
  return { ...mergeConfig(chatConfig, { define: chatDefine(target), ...extra }), configFile: false };
}

/** Builds the page for this stack into outDir (static files). */
export async function buildChat(target: ChatTarget, outDir: string): Promise<void> {
  await build(configFor(target, { logLevel: 'warn', build: { outDir, emptyOutDir: true } }));
}

/** Serves a built page (Vite's preview server) on 127.0.0.1:port. */
export async function previewChat(outDir: string, port: number): Promise<{ url: string; server: PreviewServer }> {
  const server = await preview({
    ...mergeConfig(chatConfig, { logLevel: 'warn', build: { outDir }, preview: { port, strictPort: true } }),
    configFile: false,
  });
  return { url: server.resolvedUrls?.local[0] ?? `http://127.0.0.1:${port}/`, server };
}

/** The dev server (what `npm run example` runs), on port or the next free one. */
export async function serveChat(target: ChatTarget, port: number): Promise<{ url: string; server: ViteDevServer }> {
  const server = await createServer(configFor(target, { logLevel: 'warn', server: { port, strictPort: false } }));
  await server.listen();
  return { url: server.resolvedUrls?.local[0] ?? `http://127.0.0.1:${port}/`, server };
}

const USAGE = `Usage:
  npm run example [-- --port N]   Serve examples/chat against the running local stack (default port 5173)`;

/** `npm run example`: exit code 0 while serving, 1 when the stack is not running, 2 on bad arguments. */
export async function main(argv: string[]): Promise<number> {
  let port = 5173;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--help' || argv[i] === '-h') {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    if (argv[i] === '--port' && /^\d+$/.test(argv[i + 1] ?? '') && Number(argv[i + 1]) <= 65535) {
      port = Number(argv[++i]);
      continue;
    }
    process.stderr.write(`Unknown or incomplete argument "${argv[i]}".\n${USAGE}\n`);
    return 2;
  }
  const info = await readState(stateDir());
  if (!info) {
    process.stderr.write(
      `The local Strata stack is not running (no running stack in ${stateDir()}).\n` +
        'Start it with "npm start" in another terminal, then run "npm run example" again.\n',
    );
    return 1;
  }
  const { url, server } = await serveChat(info, port);
  process.stdout.write(
    `Strata chat example (${path.relative(process.cwd(), EXAMPLE_ROOT) || '.'}) against the local stack at ${info.apiUrl}\n\n` +
      `  Open ${url}\n\n` +
      'Ctrl-C stops it.\n',
  );
  const stop = () => void server.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const code = await main(process.argv.slice(2));
  if (code !== 0) process.exit(code);
}
