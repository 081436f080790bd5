// Applies supabase/migrations with the real Supabase CLI, exactly as a
// developer would against any Postgres.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';

/** The CLI's entry script from the `supabase` npm package, run with this Node. */
export function supabaseCliPath(): string {
  const require = createRequire(import.meta.url);
  const pkgPath = require.resolve('supabase/package.json');
  const bin = (require(pkgPath) as { bin: Record<string, string> }).bin.supabase!;
  return path.join(path.dirname(pkgPath), bin);
}

export function runSupabaseCli(args: string[], options: { cwd: string }): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [supabaseCliPath(), ...args], {
      cwd: options.cwd,
      // Local Postgres has no TLS; say so instead of letting the CLI warn about it.
      env: { ...process.env, PGSSLMODE: 'disable', SUPABASE_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve({ stdout, stderr });
      else reject(new Error(`supabase ${args[0]} ${args[1] ?? ''} failed (exit ${code}):\n${stderr || stdout}`));
    });
  });
}

export async function applyMigrations(dbUrl: string, projectRoot: string): Promise<string> {
  const { stdout, stderr } = await runSupabaseCli(
    ['migration', 'up', `--remote=${dbUrl}`, '--yes', '--workdir', projectRoot],
    { cwd: projectRoot },
  );
  return (stdout + stderr).trim();
}
