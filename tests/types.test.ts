// The checked-in database types match the schema: regenerate them with
// `npx strata gen types` after changing a migration.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { PROJECT_ROOT } from '../src/cli/project.ts';
import { DATABASE_TYPES_PATH, generateTypes } from '../src/dev/types.ts';

describe('generated database types', () => {
  it('are up to date with the migrations', async () => {
    const checkedIn = await readFile(path.join(PROJECT_ROOT, DATABASE_TYPES_PATH), 'utf8');
    const fresh = await generateTypes(inject('stack').dbUrl, PROJECT_ROOT);
    expect(checkedIn, 'stale types: run `npx strata gen types` with the stack running').toBe(fresh);
  });
});
