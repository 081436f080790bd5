// Wraps a handler with what every function needs: the CORS preflight and one
// error boundary that renders AppError, database errors and surprises alike.
import { preflight } from './cors.ts';
import { renderError } from './respond.ts';

export type Handler = (request: Request) => Promise<Response> | Response;

export function withHttp(handler: Handler): Handler {
  return async (request) => {
    if (request.method === 'OPTIONS') return preflight();
    try {
      return await handler(request);
    } catch (error) {
      return renderError(error);
    }
  };
}
