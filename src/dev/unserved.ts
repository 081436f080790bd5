// What the local stack does not serve — the Data API (PostgREST), Storage,
// GraphQL and Realtime — answered with an error in the shape each supabase-js
// client reads, so that `error.message` says so instead of a bare 404:
//
//   /rest/v1/...      PostgREST's { code, message, details, hint }     → PostgrestError
//   /storage/v1/...   Storage API's { statusCode, error, message }      → StorageApiError
//   /graphql/v1       GraphQL's { errors: [{ message }] }
//   /realtime/v1/...  HTTP: { message } (channel.send over HTTP reads it); the websocket is
//                     accepted only to refuse every channel join with the message as the
//                     reason (a Phoenix phx_reply with status "error", as Realtime refuses
//                     a join), which realtime-js hands to subscribe()'s callback as
//                     CHANNEL_ERROR with Error(message).
// All with 501 Not Implemented, which no supabase-js client retries.
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { discardBody, sendJson } from './local-http.ts';

export const NOT_SERVED_CODE = 'not_served_locally';

const SERVICES = {
  rest: { prefix: '/rest/v1', name: 'The Data API (PostgREST: supabase.from() and .rpc())' },
  storage: { prefix: '/storage/v1', name: 'Storage (supabase.storage)' },
  graphql: { prefix: '/graphql/v1', name: 'GraphQL (pg_graphql)' },
  realtime: { prefix: '/realtime/v1', name: 'Realtime (supabase.channel())' },
} as const;

type Service = keyof typeof SERVICES;

export function notServedMessage(service: Service): string {
  return (
    `${SERVICES[service].name} is not served here: the local stack serves Edge Functions and Auth only; ` +
    `use a hosted project or \`supabase start\` for the Data API, Realtime and Storage.`
  );
}

export function unservedService(pathname: string): Service | null {
  for (const [service, { prefix }] of Object.entries(SERVICES) as Array<[Service, { prefix: string }]>) {
    if (pathname === prefix || pathname.startsWith(`${prefix}/`)) return service;
  }
  return null;
}

const STATUS = 501;

/** Answers an HTTP request to a service the local stack does not serve. */
export function answerUnserved(service: Service, request: http.IncomingMessage, response: http.ServerResponse, url: URL): void {
  discardBody(request);
  const message = notServedMessage(service);
  const what = `${request.method} ${url.pathname}`;
  switch (service) {
    case 'rest':
      return sendJson(request, response, STATUS, {
        code: NOT_SERVED_CODE,
        message,
        details: `${what} reached the local API, which has no PostgREST.`,
        hint: 'Locally, use the Strata functions (supabase.functions.invoke) for data; tables are reachable through supabase-js on a hosted project or `supabase start`.',
      });
    case 'storage':
      return sendJson(request, response, STATUS, { statusCode: String(STATUS), error: NOT_SERVED_CODE, message });
    case 'graphql':
      return sendJson(request, response, STATUS, { errors: [{ message, extensions: { code: NOT_SERVED_CODE } }] });
    case 'realtime':
      return sendJson(request, response, STATUS, { message });
  }
}

type PhoenixMessage = { joinRef: string | null; ref: string | null; topic: string; event: string; payload: unknown; v2: boolean };

/** Phoenix's serializers: 2.0.0 sends [join_ref, ref, topic, event, payload], 1.0.0 an object. */
function decode(text: string): PhoenixMessage | null {
  try {
    const value = JSON.parse(text) as unknown;
    if (Array.isArray(value) && value.length === 5) {
      const [joinRef, ref, topic, event, payload] = value as [string | null, string | null, string, string, unknown];
      return { joinRef, ref, topic, event, payload, v2: true };
    }
    if (value && typeof value === 'object') {
      const m = value as { join_ref?: string | null; ref?: string | null; topic?: string; event?: string; payload?: unknown };
      if (typeof m.topic === 'string' && typeof m.event === 'string') {
        return { joinRef: m.join_ref ?? null, ref: m.ref ?? null, topic: m.topic, event: m.event, payload: m.payload, v2: false };
      }
    }
  } catch {
    // not a Phoenix message
  }
  return null;
}

function reply(socket: WebSocket, to: PhoenixMessage, status: 'ok' | 'error', response: Record<string, unknown>): void {
  const payload = { status, response };
  const frame = to.v2
    ? [to.joinRef, to.ref, to.topic, 'phx_reply', payload]
    : { join_ref: to.joinRef, ref: to.ref, topic: to.topic, event: 'phx_reply', payload };
  socket.send(JSON.stringify(frame));
}

export interface RealtimeRefusal {
  /** Handles an HTTP upgrade; answers true when the request was Realtime's websocket. */
  upgrade(request: http.IncomingMessage, socket: Duplex, head: Buffer): boolean;
  stop(): Promise<void>;
}

export function createRealtimeRefusal(): RealtimeRefusal {
  const server = new WebSocketServer({ noServer: true });
  server.on('connection', (socket) => {
    socket.on('message', (data, isBinary) => {
      if (isBinary) return;
      const message = decode(data.toString());
      if (!message) return;
      // Heartbeats are answered so the client keeps the socket (and its
      // channels in their errored state) instead of reconnecting in a loop.
      if (message.topic === 'phoenix' && message.event === 'heartbeat') reply(socket, message, 'ok', {});
      else if (message.event === 'phx_join') reply(socket, message, 'error', { reason: notServedMessage('realtime') });
      else if (message.event === 'phx_leave') reply(socket, message, 'ok', {});
    });
  });
  return {
    upgrade(request, socket, head) {
      const url = new URL(request.url ?? '/', 'http://local');
      if (unservedService(url.pathname) !== 'realtime') return false;
      server.handleUpgrade(request, socket, head, (ws) => server.emit('connection', ws, request));
      return true;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const client of server.clients) client.terminate();
        server.close(() => resolve());
      }),
  };
}
