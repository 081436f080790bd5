// A real HTTP proxy in front of the S3 server, for injecting faults: it can
// answer 500 to everything, or to requests whose path contains a pattern, or
// hang (accept and never answer). Used only by the test harness.
import http from 'node:http';
import type { Socket } from 'node:net';

export type ProxyMode = { mode: 'pass' | 'error500' | 'hang'; failPattern?: string };

export async function startFaultProxy(port: number, target: () => string): Promise<{
  url: string;
  set(mode: ProxyMode): void;
  stop(): Promise<void>;
}> {
  let current: ProxyMode = { mode: 'pass' };
  const hanging = new Set<Socket>();

  const server = http.createServer((request, response) => {
    if (current.mode === 'hang') {
      hanging.add(request.socket);
      request.resume();
      return;
    }
    const failThis = current.mode === 'error500' || (current.failPattern && request.url?.includes(current.failPattern));
    if (failThis) {
      request.resume();
      request.on('end', () => {
        response.writeHead(500, { 'content-type': 'application/xml' });
        response.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code><Message>injected fault</Message></Error>');
      });
      return;
    }
    const upstream = http.request(new URL(request.url ?? '/', target()), { method: request.method, headers: request.headers }, (res) => {
      response.writeHead(res.statusCode ?? 502, res.headers);
      res.pipe(response);
    });
    // The S3 server is down: drop the connection, as a refused one would.
    upstream.on('error', () => response.destroy());
    request.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${port}`,
    set(mode) {
      current = mode;
      if (mode.mode !== 'hang') {
        for (const socket of hanging) socket.destroy();
        hanging.clear();
      }
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of hanging) socket.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
