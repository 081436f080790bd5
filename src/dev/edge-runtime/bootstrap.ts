// Runs under Deno, not Node: the first module of every function instance the
// local Edge Runtime (src/dev/edge-runtime/) starts. It gives the instance
// what Supabase's runtime gives a user worker, then imports the function's
// index.ts unchanged:
// - EdgeRuntime.waitUntil(promise): the supervisor keeps the instance while
//   such promises are pending (their CPU counts like a request's);
// - Deno.serve(handler) serves on a port of the runtime's choosing (a port or
//   hostname the function asks for is ignored, as on Supabase);
// - a `beforeunload` event (detail { reason }: cpu, memory, wall_clock,
//   early_drop) when the supervisor says a limit is near or the instance is
//   being dropped;
// - its heap + external memory, reported to the supervisor.
// Protocol: the supervisor writes lines on stdin ("beforeunload <reason>");
// the instance writes control lines on stdout: "\x1e" + JSON. Every other
// line on stdout and stderr is the function's log.

interface BootConfig {
  entry: string;
  memoryReportMs: number;
}

type ServeHandler = (request: Request, info: Deno.ServeHandlerInfo) => Response | Promise<Response>;

const config = JSON.parse(Deno.env.get('STRATA_EDGE_INSTANCE') ?? '{}') as BootConfig;
// What the runtime needed to start, and what Deno adds for npm packages'
// subprocesses (a node shim on PATH): a hosted function sees only its secrets.
for (const name of ['STRATA_EDGE_INSTANCE', 'DENO_DIR', 'NO_COLOR', 'DENO_NO_UPDATE_CHECK', 'PATH', 'DENO_NODE_SHIM_ACTIVE']) Deno.env.delete(name);

const encoder = new TextEncoder();
function send(message: Record<string, unknown>): void {
  const bytes = encoder.encode(`\x1e${JSON.stringify(message)}\n`);
  let written = 0;
  while (written < bytes.length) written += Deno.stdout.writeSync(bytes.subarray(written));
}

// Heap + external (ArrayBuffers included), what the hosted runtime counts.
const memoryNow = () => {
  const { heapUsed, external } = Deno.memoryUsage();
  return heapUsed + external;
};
let reportedBytes = 0;
let reportedAt = 0;
const reportMemory = () => {
  const bytes = memoryNow();
  const now = Date.now();
  if (Math.abs(bytes - reportedBytes) < 256 * 1024 && now - reportedAt < 500) return;
  reportedBytes = bytes;
  reportedAt = now;
  send({ t: 'memory', bytes });
};
Deno.unrefTimer(setInterval(reportMemory, config.memoryReportMs));

let background = 0;
const settled = () => send({ t: 'background', pending: --background });
(globalThis as unknown as { EdgeRuntime: unknown }).EdgeRuntime = Object.freeze({
  waitUntil<T>(promise: T): T {
    if (promise && typeof (promise as { then?: unknown }).then === 'function') {
      send({ t: 'background', pending: ++background });
      Promise.resolve(promise).then(settled, settled);
    }
    return promise;
  },
});

const internalError = (error: unknown) => {
  // The handlers render their own errors; this is the last line of defence.
  console.error(`the function threw: ${error instanceof Error ? error.stack : String(error)}`);
  return new Response(JSON.stringify({ error: { code: 'internal_error', message: 'The function failed unexpectedly.' } }), {
    status: 500,
    headers: { 'content-type': 'application/json' },
  });
};

const realServe = Deno.serve;
let serving = false;
(Deno as unknown as { serve: unknown }).serve = (first: unknown, second?: unknown) => {
  if (serving) throw new Error('Deno.serve was called twice: an Edge Function serves one handler.');
  serving = true;
  const options = (typeof first === 'function' ? {} : first ?? {}) as Partial<Deno.ServeTcpOptions> & { handler?: ServeHandler };
  const handler = (typeof first === 'function' ? first : second ?? options.handler) as ServeHandler;
  return realServe(
    {
      hostname: '127.0.0.1',
      port: 0,
      signal: options.signal,
      onError: options.onError ?? internalError,
      onListen: ({ port }) => send({ t: 'ready', port, memory: memoryNow() }),
    },
    handler,
  );
};

function dispatchBeforeunload(reason: string) {
  try {
    globalThis.dispatchEvent(new CustomEvent('beforeunload', { cancelable: true, detail: { reason } }));
  } finally {
    send({ t: 'beforeunload', reason });
  }
}

// The supervisor's commands. When it goes away (stdin closes), so does the instance.
(async () => {
  const decoder = new TextDecoder();
  let buffered = '';
  for await (const chunk of Deno.stdin.readable) {
    buffered += decoder.decode(chunk, { stream: true });
    for (let newline = buffered.indexOf('\n'); newline >= 0; newline = buffered.indexOf('\n')) {
      const [command, argument] = buffered.slice(0, newline).trim().split(' ');
      buffered = buffered.slice(newline + 1);
      if (command === 'beforeunload') dispatchBeforeunload(argument ?? 'termination');
    }
  }
  Deno.exit(0);
})();

try {
  await import(config.entry);
} catch (error) {
  send({ t: 'boot_error', message: error instanceof Error ? error.stack ?? error.message : String(error) });
  Deno.exit(1);
}
if (!serving) {
  send({ t: 'boot_error', message: 'index.ts did not call Deno.serve.' });
  Deno.exit(1);
}
