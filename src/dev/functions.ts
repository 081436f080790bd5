// The functions part of the local stack: the local Edge Runtime
// (edge-runtime/), one supervised Deno process per function instance with
// the hosted limits, on the real Deno of the npm package `deno`.
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { startEdgeRuntime, type EdgeRuntimeHandle } from './edge-runtime/runtime.ts';
import { readEdgeLimits, type EdgeLimits } from './edge-runtime/limits.ts';

export type FunctionsHandle = EdgeRuntimeHandle;

/**
 * How to run Deno from the `deno` npm package: its postinstall places the
 * binary beside the package; without install scripts, bin.cjs finds it in the
 * platform package. The binary is preferred so that signals reach Deno itself.
 */
export function denoCommand(): [string, ...string[]] {
  const require = createRequire(import.meta.url);
  const dir = path.dirname(require.resolve('deno/package.json'));
  const binary = path.join(dir, process.platform === 'win32' ? 'deno.exe' : 'deno');
  if (existsSync(binary)) return [binary];
  return [process.execPath, path.join(dir, 'bin.cjs')];
}

/** KEY=VALUE lines of a dotenv file (`supabase functions serve` reads supabase/functions/.env); {} when absent. */
export function readEnvFile(file: string): Record<string, string> {
  if (!existsSync(file)) return {};
  const values: Record<string, string> = {};
  for (const raw of readFileSync(file, 'utf8').split('\n')) {
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(raw);
    if (!match || raw.trim().startsWith('#')) continue;
    const value = match[2]!;
    const quoted = /^(['"])(.*)\1$/.exec(value);
    values[match[1]!] = quoted ? quoted[2]! : value.replace(/\s+#.*$/, '');
  }
  return values;
}

export async function startFunctions(options: {
  projectRoot: string;
  port: number;
  /** The default secrets and the stack's configured ones (functionsEnvOf + extra). */
  env: Record<string, string>;
  denoDir: string;
  log: (line: string) => void;
  /** Another functions directory (tests' fixtures); supabase/functions by default. */
  functionsDir?: string;
  /** The hosted limits unless STRATA_EDGE_* settings (or this) say otherwise. */
  limits?: EdgeLimits;
}): Promise<FunctionsHandle> {
  const functionsDir = options.functionsDir ?? path.join(options.projectRoot, 'supabase', 'functions');
  return startEdgeRuntime({
    functionsDir,
    port: options.port,
    denoCommand: denoCommand(),
    denoDir: options.denoDir,
    // supabase/functions/.env holds local secrets; the stack's own values win.
    env: { ...readEnvFile(path.join(functionsDir, '.env')), ...options.env },
    limits: options.limits ?? readEdgeLimits(process.env),
    log: options.log,
  });
}
