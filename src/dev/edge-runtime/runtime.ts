// The local Edge Runtime: serves /<name>/... for every function in a
// functions directory the way Supabase's Edge Runtime does (per_worker
// policy). Each function has its own instances, isolated Deno processes
// started from its own index.ts and import map; one active instance takes
// the function's requests (concurrently) until it retires at a soft limit,
// then the next request boots a fresh one while the retired one finishes
// what it has in flight and its EdgeRuntime.waitUntil work. This process is
// the supervisor: it proxies every request, and every 50 ms applies the
// limits (limits.ts) to each instance from outside (instance.ts).
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BootError, importMapArgs, Instance, type ExitReason, type InstanceInfo } from './instance.ts';
import { describeLimits, type EdgeLimits } from './limits.ts';

export interface EdgeRuntimeOptions {
  /** Holds <name>/index.ts per function, and the shared deno.json. */
  functionsDir: string;
  port: number;
  /** [deno, ...args] (the npm package's binary). */
  denoCommand: [string, ...string[]];
  denoDir: string;
  /** Exactly what an instance's Deno.env holds: the default and configured secrets. */
  env: Record<string, string>;
  limits: EdgeLimits;
  log: (line: string) => void;
}

export interface EdgeRuntimeHandle {
  url: string;
  port: number;
  limits: EdgeLimits;
  /** The newest live instance's pid (any function), -1 when none runs. */
  readonly pid: number;
  /** Live instances, then the last 200 that exited, oldest first. */
  instances(name?: string): InstanceInfo[];
  /** Kills every instance and stops serving. */
  stop(): Promise<void>;
  /** Stops every instance; the next request to a function boots a fresh one. */
  restart(): Promise<void>;
  /** SIGKILL to every instance, as a crash (injects faults); requests answer 502 until start(). */
  kill(): Promise<void>;
  start(): Promise<void>;
}

export const BOOTSTRAP = path.join(path.dirname(fileURLToPath(import.meta.url)), 'bootstrap.ts');
const TICK_MS = 50;
const HISTORY = 200;
const BOOT_ERROR = { code: 'BOOT_ERROR', message: 'Function failed to start (please check logs)' };

const isFunctionName = (name: string) => /^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(name);

/** The function's own deno.json when it has one, else the functions directory's (null: none). */
export function importMapConfig(functionsDir: string, name: string): string | null {
  for (const dir of [path.join(functionsDir, name), functionsDir]) {
    if (existsSync(path.join(dir, 'deno.json'))) return path.join(dir, 'deno.json');
  }
  return null;
}

export function listFunctions(functionsDir: string): string[] {
  return readdirSync(functionsDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && isFunctionName(entry.name) && existsSync(path.join(functionsDir, entry.name, 'index.ts')))
    .map((entry) => entry.name)
    .sort();
}

function sendJson(response: http.ServerResponse, status: number, body: unknown) {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

export async function startEdgeRuntime(options: EdgeRuntimeOptions): Promise<EdgeRuntimeHandle> {
  const { functionsDir, limits, log } = options;
  const live = new Set<Instance>();
  const history: InstanceInfo[] = [];
  const pools = new Map<string, FunctionPool>();
  let running = true;
  let sequence = 0;

  class FunctionPool {
    private active: Instance | null = null;
    private booting: Promise<Instance> | null = null;
    constructor(readonly name: string) {}

    /** The active instance, booting one when there is none. */
    async acquire(): Promise<Instance> {
      // A fresh instance can retire before a waiting request reaches it (its
      // first request took the CPU): then the next one boots.
      for (let attempt = 0; attempt < 5; attempt++) {
        if (this.active?.state === 'active') return this.active;
        this.booting ??= this.boot().finally(() => (this.booting = null));
        const instance = await this.booting;
        if (instance.state === 'active') return instance;
      }
      throw new BootError(`${this.name}: every new instance retired before serving`);
    }

    released(instance: Instance) {
      if (this.active === instance && instance.state !== 'active') this.active = null;
    }

    private async boot(): Promise<Instance> {
      const config = importMapConfig(functionsDir, this.name);
      const instance = new Instance({
        id: String(++sequence),
        name: this.name,
        command: options.denoCommand,
        bootstrap: BOOTSTRAP,
        entry: path.join(functionsDir, this.name, 'index.ts'),
        config,
        functionsDir,
        cwd: path.join(functionsDir, this.name),
        env: { ...options.env, DENO_DIR: options.denoDir, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1' },
        limits,
        log,
        onChange: changed,
      });
      live.add(instance);
      const started = Date.now();
      await instance.start();
      log(`${this.name}#${instance.id} serving (pid ${instance.pid}, booted in ${Date.now() - started} ms)`);
      this.active = instance;
      return instance;
    }
  }

  function changed(instance: Instance) {
    pools.get(instance.name)?.released(instance);
    if (instance.state === 'exited' && live.delete(instance)) {
      history.push(instance.info());
      if (history.length > HISTORY) history.shift();
    }
  }

  const pool = (name: string) => {
    let found = pools.get(name);
    if (!found) pools.set(name, (found = new FunctionPool(name)));
    return found;
  };

  const stopAll = (reason: ExitReason) => Promise.all([...live].map((instance) => instance.stop(reason)));

  const server = http.createServer((request, response) => {
    const name = new URL(request.url ?? '/', 'http://runtime').pathname.split('/')[1] ?? '';
    if (!isFunctionName(name) || !existsSync(path.join(functionsDir, name, 'index.ts'))) {
      sendJson(response, 404, { error: { code: 'function_not_found', message: `No function named ${name || '(empty)'}.` } });
      return;
    }
    if (!running) {
      sendJson(response, 502, { error: { code: 'function_unreachable', message: 'The functions runtime is stopped.' } });
      return;
    }
    pool(name)
      .acquire()
      .then(
        (instance) => instance.forward(request, response),
        (error) => {
          log(String((error as Error).message ?? error));
          sendJson(response, 503, BOOT_ERROR);
        },
      );
  });
  server.keepAliveTimeout = 5000;

  const tick = setInterval(() => {
    const now = Date.now();
    for (const instance of live) instance.check(now);
  }, TICK_MS);
  tick.unref();

  const names = listFunctions(functionsDir);
  await warmCache(options, names);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, '127.0.0.1', () => resolve());
    });
  } catch (error) {
    clearInterval(tick);
    throw error;
  }
  log(`edge runtime serving ${names.join(', ') || '(no functions)'}: one Deno process per instance; ${describeLimits(limits)}`);

  return {
    url: `http://127.0.0.1:${options.port}`,
    port: options.port,
    limits,
    get pid() {
      return [...live].at(-1)?.pid ?? -1;
    },
    instances: (name) => [...history, ...[...live].map((i) => i.info())].filter((i) => !name || i.function === name),
    stop: async () => {
      running = false;
      clearInterval(tick);
      await stopAll('stopped');
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
    restart: async () => {
      await stopAll('stopped');
    },
    kill: async () => {
      running = false;
      await stopAll('killed');
    },
    start: async () => {
      running = true;
    },
  };
}

/** Downloads what the functions import (once per import map), as `supabase functions serve` does before serving. */
async function warmCache(options: EdgeRuntimeOptions, names: string[]): Promise<void> {
  const byConfig = new Map<string, string[]>();
  for (const name of names) {
    const config = importMapConfig(options.functionsDir, name) ?? '';
    byConfig.set(config, [...(byConfig.get(config) ?? []), path.join(options.functionsDir, name, 'index.ts')]);
  }
  const [executable, ...prefix] = options.denoCommand;
  await Promise.all(
    [...byConfig].map(
      ([config, entries]) =>
        new Promise<void>((resolve) => {
          const args = [...prefix, 'cache', ...importMapArgs(config || null, options.functionsDir), ...entries];
          execFile(executable, args, { env: { ...process.env, DENO_DIR: options.denoDir, NO_COLOR: '1' }, timeout: 300_000 }, (error, _stdout, stderr) => {
            if (error) options.log(`deno cache ${entries.map((e) => path.basename(path.dirname(e))).join(', ')} failed (those functions will fail to boot): ${stderr || error.message}`);
            resolve();
          });
        }),
    ),
  );
}
