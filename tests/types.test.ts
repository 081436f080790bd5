// The checked-in database types match the schema: regenerate them with
// `npx strata gen types` after changing a migration.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { PROJECT_ROOT } from '../src/cli/project.ts';
import { DATABASE_TYPES_PATHS, generateTypes } from '../src/dev/types.ts';

describe('generated database types', () => {
  it('are up to date with the migrations, for the functions and for the client package', async () => {
    const fresh = await generateTypes(inject('stack').dbUrl, PROJECT_ROOT);
    expect(DATABASE_TYPES_PATHS).toHaveLength(2);
    for (const file of DATABASE_TYPES_PATHS) {
      const checkedIn = await readFile(path.join(PROJECT_ROOT, file), 'utf8');
      expect(checkedIn, `stale ${file}: run \`npx strata gen types\` with the stack running`).toBe(fresh);
    }
  });
});
