// A data directory made by an older Strata (where `postgres` was the
// cluster's superuser) cannot be turned into a hosted-style cluster: the
// stack refuses it, before starting anything, and says what to do.
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OutdatedClusterError, startPostgres } from '../../src/dev/postgres.ts';

const root = await mkdtemp(path.join(tmpdir(), 'strata-bootstrap-'));
afterAll(() => rm(root, { recursive: true, force: true }));

describe('local cluster bootstrap', () => {
  it('refuses a data directory without the hosted-style bootstrap, leaving it untouched', async () => {
    const dataDir = path.join(root, 'db', 'data');
    await mkdir(dataDir, { recursive: true });
    await writeFile(path.join(dataDir, 'PG_VERSION'), '17\n');
    const error = await startPostgres({ dataDir, port: 1, log: () => {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutdatedClusterError);
    expect((error as Error).message).toContain(`mv "${path.join(root, 'db')}"`);
    expect(await readdir(dataDir)).toEqual(['PG_VERSION']);
  });
});
