// A tiny router: method + path pattern → handler, with 404 for unknown paths
// and 405 (with Allow) for known paths and wrong methods.
import { errors } from './errors.ts';

/** A path parameter, percent-decoded; malformed encoding (%ZZ, a cut UTF-8 sequence) is the client's mistake: 400. */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw errors.invalidRequest('The path is not validly percent-encoded.');
  }
}

export type RouteHandler = (request: Request, params: Record<string, string>, url: URL) => Promise<Response>;

interface Route {
  method: string;
  pattern: RegExp;
  names: string[];
  handler: RouteHandler;
}

export class Router {
  private routes: Route[] = [];

  constructor(private readonly base: string) {}

  on(method: string, path: string, handler: RouteHandler): this {
    const names: string[] = [];
    const pattern = new RegExp(
      '^' + path.replace(/:([a-z_]+)/g, (_, name: string) => (names.push(name), '([^/]+)')) + '/?$',
    );
    this.routes.push({ method, pattern, names, handler });
    return this;
  }

  async handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    // Supabase hands the function /<name>/...; the base is that name.
    const path = url.pathname.startsWith(`/${this.base}`) ? url.pathname.slice(this.base.length + 1) || '/' : url.pathname;
    const allowed: string[] = [];
    for (const route of this.routes) {
      const match = route.pattern.exec(path);
      if (!match) continue;
      if (route.method !== request.method) {
        allowed.push(route.method);
        continue;
      }
      const params = Object.fromEntries(route.names.map((name, i) => [name, decodeSegment(match[i + 1]!)]));
      return route.handler(request, params, url);
    }
    if (allowed.length > 0) throw errors.methodNotAllowed(request.method, allowed);
    throw errors.notFound(`The path ${path}`);
  }
}
