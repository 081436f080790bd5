// What the local API answers itself, beside /functions/v1: Auth (/auth/v1, the
// GoTrue stand-in in auth/) and honest refusals for what it does not serve
// (/rest/v1, /storage/v1, /graphql/v1, /realtime/v1; unserved.ts). The gateway
// hands it every request and websocket upgrade it claims.
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { createAuthRoutes } from './auth/routes.ts';
import { answerPreflight } from './local-http.ts';
import { answerUnserved, createRealtimeRefusal, unservedService } from './unserved.ts';

export interface LocalApi {
  /** True for the paths this API answers (the gateway asks before routing to the functions). */
  claims(pathname: string): boolean;
  handle(request: http.IncomingMessage, response: http.ServerResponse, url: URL): void;
  /** Handles a websocket upgrade; false when the path is not this API's. */
  upgrade(request: http.IncomingMessage, socket: Duplex, head: Buffer): boolean;
  stop(): Promise<void>;
}

const AUTH_PREFIX = '/auth/v1';
const isAuth = (pathname: string) => pathname === AUTH_PREFIX || pathname.startsWith(`${AUTH_PREFIX}/`);

export function createLocalApi(options: {
  dbUrl: string;
  jwtSecret: string;
  apiUrl: string;
  jwtExpirySeconds: number;
  log: (line: string) => void;
}): LocalApi {
  const auth = createAuthRoutes(options);
  const realtime = createRealtimeRefusal();
  return {
    claims: (pathname) => isAuth(pathname) || unservedService(pathname) !== null,
    handle(request, response, url) {
      if (request.method === 'OPTIONS') return answerPreflight(request, response);
      const service = unservedService(url.pathname);
      if (service) return answerUnserved(service, request, response, url);
      void auth.handle(request, response, url);
    },
    upgrade: (request, socket, head) => realtime.upgrade(request, socket, head),
    async stop() {
      await realtime.stop();
      await auth.stop();
    },
  };
}
