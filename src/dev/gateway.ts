// The local API gateway: http://127.0.0.1:<port>/functions/v1/<name>/... is
// proxied to the Deno functions host as /<name>/..., as on Supabase. For
// functions with verify_jwt on, the Authorization bearer token must be an
// HS256 JWT signed with the project's secret and not expired. OPTIONS
// (CORS preflight) passes without a token, as on Supabase; the functions
// answer it themselves so that the same code works when deployed. Auth and
// the refusals for what is not served locally (/auth/v1, /rest/v1,
// /storage/v1, /graphql/v1, /realtime/v1) are answered by the local API.
import http from 'node:http';
import { verifyJwt } from '../auth/jwt.ts';
import type { LocalApi } from './local-api.ts';

export interface GatewayHandle {
  url: string;
  port: number;
  stop(): Promise<void>;
}

const PREFIX = '/functions/v1/';

function sendError(response: http.ServerResponse, status: number, code: string, message: string) {
  response.writeHead(status, {
    'content-type': 'application/json',
    'access-control-allow-origin': '*',
  });
  response.end(JSON.stringify({ error: { code, message } }));
}

export async function startGateway(options: {
  port: number;
  functionsUrl: () => string;
  jwtSecret: string;
  verifyJwt: (name: string) => boolean;
  /** Auth and the refusals, answered beside the functions. */
  localApi?: LocalApi;
  log: (line: string) => void;
}): Promise<GatewayHandle> {
  const { port, jwtSecret, log } = options;

  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://gateway');
    if (options.localApi?.claims(url.pathname)) {
      options.localApi.handle(request, response, url);
      return;
    }
    if (!url.pathname.startsWith(PREFIX)) {
      sendError(response, 404, 'not_found', `No route for ${url.pathname}; functions are under ${PREFIX}<name>.`);
      return;
    }
    const rest = url.pathname.slice(PREFIX.length);
    const name = rest.split('/')[0] ?? '';
    if (!/^[A-Za-z0-9_-]+$/.test(name)) {
      sendError(response, 404, 'function_not_found', 'No function name in the path.');
      return;
    }

    if (request.method !== 'OPTIONS' && options.verifyJwt(name)) {
      const header = request.headers.authorization ?? '';
      const match = /^Bearer\s+(\S+)$/i.exec(header);
      if (!match) {
        sendError(response, 401, 'missing_authorization', 'Missing authorization header: send "Authorization: Bearer <jwt>".');
        return;
      }
      const verdict = verifyJwt(match[1]!, jwtSecret);
      if (!verdict.ok) {
        const message = verdict.reason === 'expired' ? 'The JWT has expired.' : 'Invalid JWT.';
        sendError(response, 401, verdict.reason === 'expired' ? 'jwt_expired' : 'invalid_jwt', message);
        return;
      }
    }

    const target = new URL(`/${rest}${url.search}`, options.functionsUrl());
    const headers = { ...request.headers, host: target.host };
    const upstream = http.request(target, { method: request.method, headers }, (upstreamResponse) => {
      response.writeHead(upstreamResponse.statusCode ?? 502, upstreamResponse.headers);
      upstreamResponse.pipe(response);
      // A function that breaks its stream (e.g. an archive whose sha256 turned
      // out wrong) must break the client's too, not leave it waiting.
      upstreamResponse.on('aborted', () => response.destroy());
      upstreamResponse.on('error', () => response.destroy());
    });
    upstream.on('error', (error) => {
      log(`gateway: ${request.method} ${url.pathname} → functions host failed: ${error.message}`);
      if (!response.headersSent) sendError(response, 502, 'function_unreachable', 'The functions runtime is not reachable.');
      else response.destroy();
    });
    request.pipe(upstream);
  });
  server.keepAliveTimeout = 5000;
  server.on('upgrade', (request, socket, head) => {
    if (!options.localApi?.upgrade(request, socket, head)) socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
