// The CLI against the running test stack: status --json, user create, and a
// second start refusing to run over the first.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { verifyJwt } from '../src/auth/jwt.ts';
import { PROJECT_ROOT } from '../src/cli/project.ts';
import { connect } from './helpers/db.ts';

const stack = inject('stack');
const run = promisify(execFile);
const sql = connect({ max: 1 });
afterAll(() => sql.end());

async function strata(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [path.join(PROJECT_ROOT, 'bin', 'strata.mjs'), ...args], {
      env: { ...process.env, STRATA_STATE_DIR: stack.stateDir },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('strata CLI', () => {
  it('status --json prints the stack for scripts', async () => {
    const result = await strata('status', '--json');
    expect(result.code).toBe(0);
    const status = JSON.parse(result.stdout);
    expect(status).toMatchObject({
      running: true,
      health: 'ok',
      apiUrl: stack.apiUrl,
      dbUrl: stack.dbUrl,
      s3Endpoint: stack.s3Endpoint,
      s3Bucket: stack.s3Bucket,
      anonKey: stack.anonKey,
      serviceRoleKey: stack.serviceRoleKey,
      jwtSecret: stack.jwtSecret,
    });
  });

  it('user create makes a user and a token the gateway and the database accept', async () => {
    const email = `cli-${Date.now()}@example.test`;
    const result = await strata('user', 'create', email, '--json');
    expect(result.code).toBe(0);
    const created = JSON.parse(result.stdout);
    expect(created).toMatchObject({ email, created: true });
    const [row] = await sql`select id from auth.users where email = ${email}`;
    expect(row?.id).toBe(created.id);
    const verdict = verifyJwt(created.access_token, stack.jwtSecret);
    expect(verdict.ok && verdict.claims).toMatchObject({ sub: created.id, role: 'authenticated' });
    const health = await fetch(`${stack.functionsUrl}/health`, { headers: { authorization: `Bearer ${created.access_token}` } });
    expect(health.status).toBe(200);

    const again = JSON.parse((await strata('user', 'create', email, '--json')).stdout);
    expect(again).toMatchObject({ id: created.id, created: false });
  });

  it('user create refuses an invalid e-mail with a stable code', async () => {
    const result = await strata('user', 'create', 'not-an-email', '--json');
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toEqual({ error: { code: 'invalid_email', message: expect.any(String) } });
  });

  it('a second start says the stack is already running and touches nothing', async () => {
    const result = await strata('start');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/already running \(pid \d+\)/);
    const status = await strata('status', '--json');
    expect(JSON.parse(status.stdout).pid).toBe(stack.pid);
  });
});
