// Starts the real Deno (npm package `deno`) on functions-host.ts, which serves
// supabase/functions/* the way the Edge Runtime does.
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface FunctionsHandle {
  url: string;
  port: number;
  pid: number;
  stop(): Promise<void>;
  restart(): Promise<void>;
  /** SIGKILL, as a crashed worker (used to inject faults). */
  kill(): Promise<void>;
  start(): Promise<void>;
}

const HOST_SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'functions-host.ts');

/**
 * How to run Deno from the `deno` npm package: its postinstall places the
 * binary beside the package; without install scripts, bin.cjs finds it in the
 * platform package. The binary is preferred so that signals reach Deno itself.
 */
export function denoCommand(): [string, ...string[]] {
  const require = createRequire(import.meta.url);
  const dir = path.dirname(require.resolve('deno/package.json'));
  const binary = path.join(dir, process.platform === 'win32' ? 'deno.exe' : 'deno');
  if (existsSync(binary)) return [binary];
  return [process.execPath, path.join(dir, 'bin.cjs')];
}

export async function startFunctions(options: {
  projectRoot: string;
  port: number;
  env: Record<string, string>;
  denoDir: string;
  log: (line: string) => void;
}): Promise<FunctionsHandle> {
  const { projectRoot, port, env, denoDir, log } = options;
  const functionsDir = path.join(projectRoot, 'supabase', 'functions');
  let child: ChildProcess | null = null;

  const start = () =>
    new Promise<void>((resolve, reject) => {
      const args = [
        'run',
        '--allow-net', '--allow-env', '--allow-read', '--allow-sys',
        '--no-prompt',
        '--config', path.join(functionsDir, 'deno.json'),
        HOST_SCRIPT,
      ];
      const [command, ...prefix] = denoCommand();
      const started = spawn(command, [...prefix, ...args], {
        cwd: projectRoot,
        env: {
          ...process.env,
          ...env,
          DENO_DIR: denoDir,
          NO_COLOR: '1',
          STRATA_FUNCTIONS_PORT: String(port),
          STRATA_FUNCTIONS_DIR: functionsDir,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child = started;
      let ready = false;
      let output = '';
      const onLine = (chunk: Buffer) => {
        const text = chunk.toString('utf8');
        if (!ready) output += text;
        for (const line of text.split('\n')) if (line.trim()) log(line.trimEnd());
        if (!ready && text.includes('functions ready')) {
          ready = true;
          resolve();
        }
      };
      started.stdout!.on('data', onLine);
      started.stderr!.on('data', onLine);
      started.on('error', reject);
      started.on('exit', (code, signal) => {
        if (child === started) child = null;
        if (!ready) reject(new Error(`Deno exited before serving functions (code ${code}, signal ${signal}):\n${output}`));
        else log(`deno exited (code ${code}, signal ${signal})`);
      });
    });

  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    const running = child;
    child = null;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => running.kill('SIGKILL'), 3000);
      running.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      running.kill(signal);
    });
  };

  await start();
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get pid() {
      return child?.pid ?? -1;
    },
    stop: () => stop(),
    restart: async () => {
      await stop();
      await start();
    },
    kill: () => stop('SIGKILL'),
    start: async () => {
      if (!child) await start();
    },
  };
}
