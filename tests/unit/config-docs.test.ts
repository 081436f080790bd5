// The README's configuration tables against the code: every environment
// variable the code reads is documented there, and every variable documented
// there is read. And each one has a place in the CLI's rule for the local
// stack (its own database and S3 settings, tuning variables from the shell).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/cli/project.ts';
import { isTuningVariable, localStackVariables } from '../../src/cli/target.ts';

/** Where Strata's code lives (tests and benches read their own variables, not documented). */
const SOURCE_DIRS = ['supabase/functions', 'src', 'bin'];

const NAME = `'([A-Z][A-Z0-9_]*)'`;
/** The ways the code reads a variable by its name. */
const READS = [
  new RegExp(`\\benv\\(\\s*${NAME}\\s*\\)`, 'g'), // an EnvGetter: env('NAME')
  new RegExp(`\\breadInt\\(\\s*env\\s*,\\s*${NAME}`, 'g'), // readInt(env, 'NAME', fallback, min, max)
  new RegExp(`\\bDeno\\.env\\.get\\(\\s*${NAME}\\s*\\)`, 'g'),
  /\bprocess\.env\.([A-Z][A-Z0-9_]*)\b/g,
  new RegExp(`\\bprocess\\.env\\[\\s*${NAME}\\s*\\]`, 'g'),
  new RegExp(`\\bread\\(\\s*${NAME}`, 'g'), // the port reader of src/cli/commands/start.ts
];
/**
 * Reads by a computed name, each in a helper whose call sites the patterns
 * above see. A new one must be listed here, and its call sites added to READS.
 */
const COMPUTED_READS: Record<string, string[]> = {
  'supabase/functions/_shared/settings.ts': ['env(name)'], // readInt
  'src/cli/commands/start.ts': ['process.env[name]'], // read (the ports)
  'src/cli/target.ts': ['process.env[name]'], // the deployment's getter: the shell as it is
};

function sourceFiles(dir: string): string[] {
  return readdirSync(path.join(PROJECT_ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const relative = path.posix.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : sourceFiles(relative);
    return /\.(ts|mjs|js)$/.test(entry.name) ? [relative] : [];
  });
}

function readByCode(): Map<string, string[]> {
  const names = new Map<string, string[]>();
  for (const file of SOURCE_DIRS.flatMap(sourceFiles)) {
    const text = readFileSync(path.join(PROJECT_ROOT, file), 'utf8');
    for (const pattern of READS) {
      for (const match of text.matchAll(pattern)) names.set(match[1]!, [...new Set([...(names.get(match[1]!) ?? []), file])]);
    }
  }
  return names;
}

/** Names in the first column of the tables of the README's "## Configuration" section. */
function documented(): Set<string> {
  const readme = readFileSync(path.join(PROJECT_ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Configuration\n');
  expect(start, 'README has a "## Configuration" section').toBeGreaterThan(0);
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end === -1 ? undefined : end);
  const names = new Set<string>();
  for (const line of section.split('\n')) {
    if (!line.startsWith('|')) continue;
    const firstCell = line.split('|')[1]!;
    for (const match of firstCell.matchAll(/`([A-Z][A-Z0-9_]*)`/g)) names.add(match[1]!);
  }
  return names;
}

describe('the README documents every environment variable the code reads', () => {
  const code = readByCode();
  const docs = documented();

  it('finds the reads (the scan works)', () => {
    for (const name of ['S3_BUCKET_NAME', 'ARCHIVE_CONCURRENCY', 'STRATA_STATE_DIR', 'STRATA_API_PORT', 'STRATA_DB_POOLER_URL', 'STORAGE_CORS_ORIGINS']) {
      expect(code.has(name), name).toBe(true);
    }
    expect(docs.has('S3_BUCKET_NAME')).toBe(true);
  });

  it('every variable the code reads is in the configuration tables', () => {
    const missing = [...code.keys()].filter((name) => !docs.has(name)).map((name) => `${name} (read in ${code.get(name)!.join(', ')})`);
    expect(missing).toEqual([]);
  });

  it('every variable in the configuration tables is read by the code', () => {
    expect([...docs].filter((name) => !code.has(name))).toEqual([]);
  });

  it('reads by a computed name happen only in the known helpers', () => {
    const computed = /\b(?:process\.env\[(?!\s*')[^\]]*\]|Deno\.env\.get\((?!\s*')[^)]*\)|env\((?!\s*')[^)]+\))/g;
    const found: Record<string, string[]> = {};
    for (const file of SOURCE_DIRS.flatMap(sourceFiles)) {
      const text = readFileSync(path.join(PROJECT_ROOT, file), 'utf8');
      for (const match of text.matchAll(computed)) (found[file] ??= []).push(match[0]);
    }
    expect(found).toEqual(COMPUTED_READS);
  });
});

describe('every variable has its place in the CLI rule for the local stack', () => {
  const localOwn = new Set(localStackVariables({} as never));
  const stackAndCli = new Set(['STRATA_STATE_DIR', 'STRATA_API_PORT', 'STRATA_DB_PORT', 'STRATA_S3_PORT', 'STRATA_FUNCTIONS_PORT', 'DENO_DIR',
    'STRATA_EDGE_CPU_SOFT_MS', 'STRATA_EDGE_CPU_HARD_MS', 'STRATA_EDGE_MEMORY_MB', 'STRATA_EDGE_WALL_SECONDS', 'STRATA_EDGE_BEFOREUNLOAD_PCT', 'STRATA_EDGE_INSTANCE']);

  it.each([...readByCode().keys()].sort())('%s: the local stack\'s own, a tuning variable, or the stack\'s and CLI\'s', (name) => {
    const places = [localOwn.has(name) && 'local stack', isTuningVariable(name) && 'tuning', stackAndCli.has(name) && 'stack and CLI'].filter(Boolean);
    expect(places).toHaveLength(1);
  });
});
