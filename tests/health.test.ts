import { describe, expect, inject, it } from 'vitest';

const stack = inject('stack');
const auth = { authorization: `Bearer ${stack.anonKey}` };

describe('health function', () => {
  it('answers 200 with the versions of its parts', async () => {
    const response = await fetch(`${stack.functionsUrl}/health`, { headers: auth });
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body.status).toBe('ok');
    expect(body.versions.strata).toMatch(/^\d+\.\d+\.\d+$/);
    expect(body.versions.deno).toMatch(/^2\.\d+\.\d+/);
    expect(body.versions.postgres).toMatch(/^17\./);
    expect(body.parts.storage).toMatchObject({ ok: true });
  });

  it('answers 405 with a stable error code to other methods', async () => {
    const response = await fetch(`${stack.functionsUrl}/health`, { method: 'POST', headers: auth });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET');
    expect((await response.json()).error.code).toBe('method_not_allowed');
  });
});
