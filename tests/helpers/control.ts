// Fault injection through the harness's control endpoint (tests/setup/control.ts).
import { inject } from 'vitest';
import type { InstanceInfo } from '../../src/dev/edge-runtime/instance.ts';

async function post(path: string, body?: unknown): Promise<void> {
  const response = await fetch(`${inject('controlUrl')}${path}`, {
    method: 'POST',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`control ${path} failed: ${response.status} ${await response.text()}`);
}

export const control = {
  stopS3: () => post('/s3/stop'),
  startS3: () => post('/s3/start'),
  proxy: (mode: 'pass' | 'error500' | 'hang', failPattern?: string) => post('/proxy', { mode, failPattern }),
  killFunctions: () => post('/functions/kill'),
  startFunctions: () => post('/functions/start'),
  drainRelay: () => post('/relay/drain'),
  /** The stack's function instances (live, then the last exited), optionally of one function. */
  instances: async (name?: string): Promise<InstanceInfo[]> => {
    const response = await fetch(`${inject('controlUrl')}/functions/instances${name ? `?name=${encodeURIComponent(name)}` : ''}`);
    if (!response.ok) throw new Error(`control /functions/instances failed: ${response.status}`);
    return (await response.json()) as InstanceInfo[];
  },
};
