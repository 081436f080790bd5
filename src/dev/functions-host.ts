// Runs under Deno, not Node: serves every function in supabase/functions the
// way the Edge Runtime does, each index.ts unchanged. Each index.ts calls
// Deno.serve(handler) when imported; while importing, Deno.serve is swapped
// for a recorder so that one process can route /<name>/... to each handler.

type Handler = (request: Request, info: Deno.ServeHandlerInfo) => Response | Promise<Response>;

const port = Number(Deno.env.get('STRATA_FUNCTIONS_PORT'));
const functionsDir = Deno.env.get('STRATA_FUNCTIONS_DIR')!;

const handlers = new Map<string, Handler>();
const failed = new Map<string, string>();
const realServe = Deno.serve;
let loading = '';

// deno-lint-ignore no-explicit-any
(Deno as any).serve = (first: unknown, second?: unknown) => {
  const handler = (typeof first === 'function' ? first : (second ?? (first as { handler: Handler }).handler)) as Handler;
  handlers.set(loading, handler);
  return { finished: Promise.resolve(), shutdown: () => Promise.resolve(), ref() {}, unref() {}, addr: { port, hostname: '127.0.0.1', transport: 'tcp' } };
};

const names = [...Deno.readDirSync(functionsDir)]
  .filter((entry) => entry.isDirectory && !entry.name.startsWith('_') && !entry.name.startsWith('.'))
  .map((entry) => entry.name)
  .sort();
for (const name of names) {
  const entry = `${functionsDir}/${name}/index.ts`;
  try {
    Deno.statSync(entry);
  } catch {
    continue;
  }
  loading = name;
  try {
    await import(new URL(`file://${entry}`).href);
    if (!handlers.has(name)) failed.set(name, 'index.ts did not call Deno.serve');
  } catch (error) {
    failed.set(name, String(error instanceof Error ? error.stack ?? error.message : error));
    console.error(`function ${name} failed to load: ${failed.get(name)}`);
  }
}
// deno-lint-ignore no-explicit-any
(Deno as any).serve = realServe;

const json = (status: number, code: string, message: string) =>
  new Response(JSON.stringify({ error: { code, message } }), {
    status,
    headers: { 'content-type': 'application/json' },
  });

realServe(
  {
    port,
    hostname: '127.0.0.1',
    onListen: () => console.log(`functions ready: ${[...handlers.keys()].join(', ') || '(none)'}`),
  },
  async (request, info) => {
    const name = new URL(request.url).pathname.split('/')[1] ?? '';
    const handler = handlers.get(name);
    if (!handler) {
      if (failed.has(name)) return json(503, 'function_unavailable', `Function ${name} failed to load.`);
      return json(404, 'function_not_found', `No function named ${name || '(empty)'}.`);
    }
    try {
      return await handler(request, info);
    } catch (error) {
      // The handlers render their own errors; this is the last line of defence.
      console.error(`function ${name} threw: ${error instanceof Error ? error.stack : String(error)}`);
      return json(500, 'internal_error', 'The function failed unexpectedly.');
    }
  },
);
