// The local Edge Runtime's settings: the hosted limits by default, STRATA_EDGE_*
// to change them (0 turns one off), refused when they make no sense; and the
// function secrets file `supabase functions serve` reads.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { importMapArgs } from '../../src/dev/edge-runtime/instance.ts';
import { EdgeLimitsError, HOSTED_LIMITS, readEdgeLimits } from '../../src/dev/edge-runtime/limits.ts';
import { importMapConfig } from '../../src/dev/edge-runtime/runtime.ts';
import { readEnvFile } from '../../src/dev/functions.ts';
import { PROJECT_ROOT } from '../../src/cli/project.ts';

describe('edge runtime limits', () => {
  it('are the hosted ones by default', () => {
    expect(readEdgeLimits({})).toEqual({ cpuSoftMs: 1000, cpuHardMs: 2000, memoryMb: 256, wallSeconds: 150, beforeunloadPct: 90 });
    expect(readEdgeLimits({ STRATA_EDGE_CPU_SOFT_MS: '' })).toEqual(HOSTED_LIMITS);
  });

  it('follow the STRATA_EDGE_* settings; 0 turns a limit off', () => {
    expect(
      readEdgeLimits({ STRATA_EDGE_CPU_SOFT_MS: '500', STRATA_EDGE_CPU_HARD_MS: '0', STRATA_EDGE_MEMORY_MB: '512', STRATA_EDGE_WALL_SECONDS: '400', STRATA_EDGE_BEFOREUNLOAD_PCT: '80' }),
    ).toEqual({ cpuSoftMs: 500, cpuHardMs: 0, memoryMb: 512, wallSeconds: 400, beforeunloadPct: 80 });
  });

  it.each([
    [{ STRATA_EDGE_CPU_HARD_MS: 'two seconds' }, /STRATA_EDGE_CPU_HARD_MS must be a whole number/],
    [{ STRATA_EDGE_MEMORY_MB: '-1' }, /STRATA_EDGE_MEMORY_MB/],
    [{ STRATA_EDGE_WALL_SECONDS: '401' }, /STRATA_EDGE_WALL_SECONDS .* to 400/],
    [{ STRATA_EDGE_CPU_SOFT_MS: '2500' }, /must not exceed STRATA_EDGE_CPU_HARD_MS/],
  ])('refuses %o', (env, message) => {
    expect(() => readEdgeLimits(env)).toThrow(EdgeLimitsError);
    expect(() => readEdgeLimits(env)).toThrow(message);
  });
});

describe('a function instance', () => {
  const fixtures = path.join(PROJECT_ROOT, 'tests', 'fixtures', 'functions');

  it("takes the function's own deno.json as import map when there is one, else the functions directory's", () => {
    expect(importMapConfig(fixtures, 'own-import-map')).toBe(path.join(fixtures, 'own-import-map', 'deno.json'));
    expect(importMapConfig(fixtures, 'cpu')).toBe(path.join(fixtures, 'deno.json'));
    // Each of Strata's functions has its own (as `functions deploy` uploads it), locked by the shared lockfile.
    const functions = path.join(PROJECT_ROOT, 'supabase', 'functions');
    expect(importMapArgs(importMapConfig(functions, 'archive-worker'), functions)).toEqual([
      '--no-config', '--import-map', path.join(functions, 'archive-worker', 'deno.json'), `--lock=${path.join(functions, 'deno.lock')}`,
    ]);
    expect(importMapArgs(null, functions)).toEqual(['--no-config']);
  });

  it('reads local secrets from a dotenv file, and nothing when there is none', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'strata-env-'));
    try {
      const file = path.join(dir, '.env');
      expect(readEnvFile(file)).toEqual({});
      await writeFile(file, ['# comment', 'PLAIN=value', 'QUOTED="a # b"', "export SINGLE='x'", 'TRAILING=y # note', 'EMPTY=', 'not a line'].join('\n'));
      expect(readEnvFile(file)).toEqual({ PLAIN: 'value', QUOTED: 'a # b', SINGLE: 'x', TRAILING: 'y', EMPTY: '' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
