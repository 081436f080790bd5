// The test harness's control endpoint: tests (in their own processes) ask it
// to stop or start the real S3 server, switch the fault proxy, kill and start
// the functions (every instance), or list the function instances.
import http from 'node:http';
import type { Stack } from '../../src/dev/stack.ts';
import type { ProxyMode } from './fault-proxy.ts';

export async function startControl(port: number, stack: Stack, proxy: { set(mode: ProxyMode): void }) {
  const actions: Record<string, (body: Record<string, unknown>) => Promise<unknown>> = {
    '/s3/stop': () => stack.parts.s3.stop(),
    '/s3/start': () => stack.parts.s3.start(),
    '/proxy': async (body) => proxy.set(body as ProxyMode),
    '/functions/kill': () => stack.parts.functions.kill(),
    '/functions/start': () => stack.parts.functions.start(),
    '/relay/drain': () => stack.parts.relay.drain(),
  };
  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://control');
    if (request.method === 'GET' && url.pathname === '/functions/instances') {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(stack.parts.functions.instances(url.searchParams.get('name') ?? undefined)));
      return;
    }
    let raw = '';
    request.on('data', (chunk) => (raw += chunk));
    request.on('end', async () => {
      const action = actions[request.url ?? ''];
      if (!action || request.method !== 'POST') {
        response.writeHead(404).end();
        return;
      }
      try {
        await action(raw ? JSON.parse(raw) : {});
        response.writeHead(204).end();
      } catch (error) {
        response.writeHead(500, { 'content-type': 'text/plain' }).end(String((error as Error).message));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${port}`, stop: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
