// One function instance: a Deno process started on bootstrap.ts with the
// function's entry and import map, watched from outside by the supervisor
// (CPU and memory from /proc and the instance's own memory reports), and the
// requests it serves, proxied to it. It boots, serves, retires (no new
// requests) when a soft limit is reached, and is killed at a hard limit; a
// retired instance with nothing in flight and no waitUntil work is dropped.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { EdgeLimits } from './limits.ts';
import { readAnonymousRss, readMainThreadCpuNs, readProcessCpuMs } from './proc.ts';

export type Limit = 'cpu' | 'memory' | 'wall_clock';
export type InstanceState = 'booting' | 'active' | 'retired' | 'exited';
/** Why an instance ended: a hard limit, dropped once retired and idle, a failed boot, a crash, or stopped by the stack. */
export type ExitReason = Limit | 'early_drop' | 'boot_error' | 'crashed' | 'killed' | 'stopped';

export interface InstanceInfo {
  id: string;
  function: string;
  pid: number;
  state: InstanceState;
  startedAt: string;
  /** Milliseconds from spawn to serving. */
  bootMs: number | null;
  /** Main-thread CPU since the instance was ready (boot excluded), ms. */
  cpuMs: number;
  /** Whole-process CPU including boot and V8's helper threads, ms (for reports). */
  processCpuMs: number;
  /** Heap + external, bytes: the latest report (or estimate while the instance cannot report). */
  memoryBytes: number;
  peakMemoryBytes: number;
  requests: number;
  inFlight: number;
  /** EdgeRuntime.waitUntil promises still pending. */
  background: number;
  retiredBy: Limit | null;
  /** Reasons of the beforeunload events dispatched, in order. */
  beforeunload: string[];
  exit: { reason: ExitReason; at: string; code: number | null; signal: string | null } | null;
}

export interface InstanceOptions {
  id: string;
  name: string;
  /** [deno, ...args] up to the script. */
  command: [string, ...string[]];
  bootstrap: string;
  entry: string;
  /** The deno.json whose imports (and scopes) are the function's import map; null for none. */
  config: string | null;
  functionsDir: string;
  cwd: string;
  env: Record<string, string>;
  limits: EdgeLimits;
  log: (line: string) => void;
  /** Called when the instance retires or exits (the pool stops routing to it). */
  onChange: (instance: Instance) => void;
}

export class BootError extends Error {
  override readonly name = 'BootError' as const;
}

/** The hosted runtime's answer for a request cut off by a resource limit. */
export const LIMIT_STATUS = 546;
export const LIMIT_BODY = { code: 'WORKER_RESOURCE_LIMIT', message: 'Function failed due to not having enough compute resources (please check logs)' };
const CRASH_BODY = { code: 'WORKER_ERROR', message: 'The function instance exited before it answered (please check logs).' };

const CONTROL = '\x1e';
const MEMORY_REPORT_MS = 250;
/** How long an instance being dropped may take in its beforeunload listeners. */
const DROP_GRACE_MS = 1000;
const LIMIT_MESSAGES: Record<Limit, string> = { cpu: 'CPU Time exceeded', memory: 'Memory limit exceeded', wall_clock: 'Wall clock limit reached' };

/**
 * The function's import map and the nearest lockfile (beside the map, else
 * the functions directory's), and no config discovery: Deno would otherwise
 * also apply an enclosing deno.json (the functions directory's) as a scope
 * over the function's own.
 */
export function importMapArgs(config: string | null, functionsDir: string): string[] {
  if (!config) return ['--no-config'];
  const lock = [path.join(path.dirname(config), 'deno.lock'), path.join(functionsDir, 'deno.lock')].find((file) => existsSync(file));
  return ['--no-config', '--import-map', config, ...(lock ? [`--lock=${lock}`] : [])];
}

const isLimit = (reason: ExitReason | null | undefined): reason is Limit => reason === 'cpu' || reason === 'memory' || reason === 'wall_clock';

function sendJson(response: http.ServerResponse, status: number, body: unknown) {
  response.writeHead(status, { 'content-type': 'application/json', connection: 'close' });
  response.end(JSON.stringify(body));
}

export class Instance {
  readonly id: string;
  readonly name: string;
  state: InstanceState = 'booting';
  private readonly options: InstanceOptions;
  private child: ChildProcess | null = null;
  private port = 0;
  private readonly spawnedAt = Date.now();
  private readyAt = 0;
  private cpuBaseNs = 0;
  private cpuMs = 0;
  private report = { bytes: 0, anon: null as number | null };
  private memoryBytes = 0;
  private peakMemoryBytes = 0;
  private processCpuMs = 0;
  private requests = 0;
  private readonly inFlight = new Set<http.ServerResponse>();
  private background = 0;
  private retiredBy: Limit | null = null;
  private readonly beforeunloadSent: string[] = [];
  private killReason: ExitReason | null = null;
  private exitInfo: InstanceInfo['exit'] = null;
  private stderrTail: string[] = [];
  private dropping = false;
  private readonly agent = new http.Agent({ keepAlive: true });
  private acknowledge: ((reason: string) => void) | null = null;
  private resolveExited!: () => void;
  /** Resolves when the process has exited. */
  readonly exited = new Promise<void>((resolve) => (this.resolveExited = resolve));

  constructor(options: InstanceOptions) {
    this.options = options;
    this.id = options.id;
    this.name = options.name;
  }

  get pid(): number {
    return this.child?.pid ?? -1;
  }

  /** Starts the process; resolves once it serves, rejects with BootError otherwise. */
  start(): Promise<void> {
    const { command, bootstrap, entry, config, cwd, env, limits } = this.options;
    const [executable, ...prefix] = command;
    const args = [
      ...prefix,
      'run',
      '--allow-net', '--allow-env', '--allow-read', '--allow-sys',
      '--no-prompt',
      ...(limits.memoryMb > 0 ? [`--v8-flags=--max-old-space-size=${limits.memoryMb}`] : []),
      ...importMapArgs(config, this.options.functionsDir),
      bootstrap,
    ];
    const child = spawn(executable, args, {
      cwd,
      env: { ...env, STRATA_EDGE_INSTANCE: JSON.stringify({ entry: new URL(`file://${entry}`).href, memoryReportMs: MEMORY_REPORT_MS }) },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child = child;
    child.stdin!.on('error', () => undefined); // the instance may be gone before a command reaches it
    return new Promise<void>((resolve, reject) => {
      let bootError = '';
      const onLine = (line: string) => {
        if (!line.startsWith(CONTROL)) {
          if (line.trim()) this.log(line.trimEnd());
          return;
        }
        let message: { t: string; [key: string]: unknown };
        try {
          message = JSON.parse(line.slice(1));
        } catch {
          return;
        }
        switch (message.t) {
          case 'ready':
            this.port = Number(message.port);
            this.readyAt = Date.now();
            this.cpuBaseNs = readMainThreadCpuNs(this.pid) ?? 0;
            this.recordMemory(Number(message.memory));
            this.state = 'active';
            resolve();
            break;
          case 'memory':
            this.recordMemory(Number(message.bytes));
            break;
          case 'background':
            this.background = Number(message.pending);
            break;
          case 'beforeunload':
            this.acknowledge?.(String(message.reason));
            break;
          case 'boot_error':
            bootError = String(message.message);
            break;
        }
      };
      this.lines(child.stdout!, onLine);
      this.lines(child.stderr!, (line) => {
        if (!line.trim()) return;
        this.stderrTail = [...this.stderrTail.slice(-19), line];
        this.log(line.trimEnd());
      });
      child.on('error', (error) => reject(new BootError(`could not start Deno: ${error.message}`)));
      // 'close', not 'exit': by then the last lines (a boot error) have been read.
      child.on('close', (code, signal) => {
        const wasBooting = this.state === 'booting';
        const outOfMemory = this.stderrTail.some((l) => /out of memory|heap limit/i.test(l));
        const reason: ExitReason = this.killReason ?? (outOfMemory ? 'memory' : wasBooting ? 'boot_error' : 'crashed');
        if (!this.killReason && reason === 'memory') this.log(`killed: ${LIMIT_MESSAGES.memory} (V8 heap limit)`);
        else if (!this.killReason && reason === 'crashed') this.log(`exited unexpectedly (code ${code}, signal ${signal})`);
        this.state = 'exited';
        this.exitInfo = { reason, at: new Date().toISOString(), code, signal };
        this.agent.destroy();
        this.resolveExited();
        this.options.onChange(this);
        if (wasBooting) {
          const detail = bootError || this.stderrTail.join('\n') || `Deno exited (code ${code}, signal ${signal})`;
          reject(new BootError(`${this.name} failed to start: ${detail}`));
        }
      });
    });
  }

  /** Proxies one request to the instance; a request cut off by a limit gets 546. */
  forward(request: http.IncomingMessage, response: http.ServerResponse): void {
    this.requests++;
    this.inFlight.add(response);
    let answered = false;
    const upstream = http.request(
      { host: '127.0.0.1', port: this.port, method: request.method, path: request.url, headers: request.headers, agent: this.agent },
      (answer) => {
        answered = true;
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response, { end: false });
        // A function may answer before reading the whole body (413): the
        // rest is read and dropped before the response ends, so the client
        // (the gateway) is not cut off while it still sends.
        answer.on('end', () => {
          if (request.complete) {
            response.end();
            return;
          }
          request.unpipe(upstream);
          request.on('end', () => response.end());
          request.resume();
        });
        // An instance that dies or breaks its stream breaks the client's too.
        answer.on('aborted', () => response.destroy());
        answer.on('error', () => response.destroy());
      },
    );
    // Once the function has answered, a failure to send it the rest of the
    // body (it answered early and closed) is no failure; an instance dying
    // while it streams breaks the stream (above).
    upstream.on('error', () => {
      if (!answered) void this.answerFailure(request, response);
    });
    response.on('close', () => {
      this.inFlight.delete(response);
      if (!response.writableFinished) upstream.destroy();
    });
    request.pipe(upstream);
  }

  private async answerFailure(request: http.IncomingMessage, response: http.ServerResponse) {
    // Drop the rest of the body first (as above), so the client reads the answer.
    request.unpipe();
    const bodyRead = request.complete ? null : new Promise((resolve) => request.once('end', resolve).once('close', resolve));
    request.resume();
    if (bodyRead) await bodyRead;
    // The connection broke: wait (briefly) for the process's exit to know why.
    if (this.state !== 'exited') await Promise.race([this.exited, new Promise((resolve) => setTimeout(resolve, 1000))]);
    if (response.headersSent || response.destroyed) {
      response.destroy();
      return;
    }
    const reason = this.exitInfo?.reason ?? this.killReason;
    if (isLimit(reason)) sendJson(response, LIMIT_STATUS, LIMIT_BODY);
    else sendJson(response, this.state === 'exited' ? 500 : 502, CRASH_BODY);
  }

  /** Applies the limits; the supervisor calls it every few tens of milliseconds. */
  check(now: number): void {
    const { limits } = this.options;
    if (this.state === 'exited' || this.killReason) return;
    const wallMs = now - this.spawnedAt;
    const wallLimitMs = limits.wallSeconds * 1000;
    if (this.state === 'booting') {
      if (wallLimitMs > 0 && wallMs >= wallLimitMs) this.kill('wall_clock', `${LIMIT_MESSAGES.wall_clock} while booting`);
      return;
    }
    const cpuNs = readMainThreadCpuNs(this.pid);
    if (cpuNs === null) return; // exiting
    this.cpuMs = (cpuNs - this.cpuBaseNs) / 1e6;
    this.processCpuMs = readProcessCpuMs(this.pid) ?? this.processCpuMs;
    this.memoryBytes = this.estimateMemory();
    this.peakMemoryBytes = Math.max(this.peakMemoryBytes, this.memoryBytes);
    const memoryLimit = limits.memoryMb * 1024 * 1024;
    const cpu = `${Math.round(this.cpuMs)} ms CPU`;
    const memory = `${(this.memoryBytes / 1048576).toFixed(1)} MB`;

    if (limits.cpuHardMs > 0 && this.cpuMs >= limits.cpuHardMs) return this.kill('cpu', `${LIMIT_MESSAGES.cpu}: ${cpu} ≥ ${limits.cpuHardMs} ms`);
    if (memoryLimit > 0 && this.memoryBytes >= memoryLimit) return this.kill('memory', `${LIMIT_MESSAGES.memory}: ${memory} ≥ ${limits.memoryMb} MB`);
    if (wallLimitMs > 0 && wallMs >= wallLimitMs) return this.kill('wall_clock', `${LIMIT_MESSAGES.wall_clock}: ${limits.wallSeconds} s`);

    const near = limits.beforeunloadPct / 100;
    if (near > 0) {
      if (limits.cpuHardMs > 0 && this.cpuMs >= limits.cpuHardMs * near) this.beforeunload('cpu');
      if (memoryLimit > 0 && this.memoryBytes >= memoryLimit * near) this.beforeunload('memory');
      if (wallLimitMs > 0 && wallMs >= wallLimitMs * near) this.beforeunload('wall_clock');
    }

    if (this.state === 'active') {
      if (limits.cpuSoftMs > 0 && this.cpuMs >= limits.cpuSoftMs) this.retire('cpu', `${cpu} ≥ soft limit ${limits.cpuSoftMs} ms`);
      else if (memoryLimit > 0 && this.memoryBytes >= memoryLimit / 2) this.retire('memory', `${memory}, half of ${limits.memoryMb} MB`);
      else if (wallLimitMs > 0 && wallMs >= wallLimitMs / 2) this.retire('wall_clock', `${Math.round(wallMs / 1000)} s, half of ${limits.wallSeconds} s`);
    }
    if (this.state === 'retired' && this.inFlight.size === 0 && this.background === 0) void this.drop();
  }

  /** No new requests: the pool starts a fresh instance for the next one. */
  retire(reason: Limit, detail: string): void {
    if (this.state !== 'active') return;
    this.state = 'retired';
    this.retiredBy = reason;
    this.log(`retired (${detail})`);
    this.options.onChange(this);
  }

  /** SIGKILL; requests in flight get 546 when the reason is a limit. */
  kill(reason: ExitReason, detail?: string): void {
    if (this.state === 'exited' || this.killReason) return;
    this.killReason = reason;
    if (detail) this.log(`killed: ${detail}`);
    if (this.state === 'active') {
      this.state = 'retired';
      this.options.onChange(this);
    }
    this.child?.kill('SIGKILL');
  }

  /** Kills and waits for the exit. */
  async stop(reason: ExitReason = 'stopped'): Promise<void> {
    this.kill(reason);
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) await this.exited;
  }

  info(): InstanceInfo {
    return {
      id: this.id,
      function: this.name,
      pid: this.pid,
      state: this.state,
      startedAt: new Date(this.spawnedAt).toISOString(),
      bootMs: this.readyAt ? this.readyAt - this.spawnedAt : null,
      cpuMs: Math.round(this.cpuMs),
      processCpuMs: Math.round(this.processCpuMs),
      memoryBytes: this.memoryBytes,
      peakMemoryBytes: this.peakMemoryBytes,
      requests: this.requests,
      inFlight: this.inFlight.size,
      background: this.background,
      retiredBy: this.retiredBy,
      beforeunload: [...this.beforeunloadSent],
      exit: this.exitInfo,
    };
  }

  private beforeunload(reason: string): void {
    if (this.beforeunloadSent.includes(reason)) return;
    this.beforeunloadSent.push(reason);
    this.log(`beforeunload (${reason})`);
    this.child?.stdin?.write(`beforeunload ${reason}\n`);
  }

  /** Early drop: retired and idle, so beforeunload (early_drop), then gone. */
  private async drop(): Promise<void> {
    if (this.dropping) return;
    this.dropping = true;
    const acknowledged = new Promise<void>((resolve) => {
      this.acknowledge = (reason) => reason === 'early_drop' && resolve();
    });
    this.beforeunload('early_drop');
    await Promise.race([acknowledged, this.exited, new Promise((resolve) => setTimeout(resolve, DROP_GRACE_MS))]);
    this.kill('early_drop');
  }

  private recordMemory(bytes: number): void {
    this.report = { bytes, anon: readAnonymousRss(this.pid) };
    this.memoryBytes = bytes;
    this.peakMemoryBytes = Math.max(this.peakMemoryBytes, bytes);
  }

  /**
   * Heap + external as the instance last reported it (every 250 ms, or less
   * often while it is busy), plus the anonymous RSS the process has grown
   * since that report: the supervisor sees fast growth within one tick, and
   * growth during a long synchronous stretch when the instance cannot report.
   */
  private estimateMemory(): number {
    const anon = this.report.anon === null ? null : readAnonymousRss(this.pid);
    return anon === null ? this.report.bytes : this.report.bytes + Math.max(0, anon - this.report.anon!);
  }

  private log(line: string): void {
    this.options.log(`${this.name}#${this.id} ${line}`);
  }

  private lines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
    let buffered = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      buffered += chunk;
      for (let newline = buffered.indexOf('\n'); newline >= 0; newline = buffered.indexOf('\n')) {
        onLine(buffered.slice(0, newline));
        buffered = buffered.slice(newline + 1);
      }
    });
    stream.on('end', () => {
      if (buffered) onLine(buffered);
    });
  }
}
