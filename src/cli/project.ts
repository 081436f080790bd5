import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The Strata checkout this CLI belongs to (holds supabase/). */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where `npm start` keeps its data: git-ignored, survives restarts. STRATA_STATE_DIR overrides it. */
export function stateDir(): string {
  return process.env.STRATA_STATE_DIR ? path.resolve(process.env.STRATA_STATE_DIR) : path.join(PROJECT_ROOT, '.strata');
}

/** Deno's npm cache, shared by every stack started from this checkout. */
export function denoCacheDir(): string {
  return process.env.DENO_DIR ?? path.join(PROJECT_ROOT, 'node_modules', '.cache', 'strata-deno');
}

export const hasSupabaseProject = () => existsSync(path.join(PROJECT_ROOT, 'supabase', 'config.toml'));
