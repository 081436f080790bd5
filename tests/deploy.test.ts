// The README's deploy path, checked against the Supabase CLI this project pins:
// every `npx supabase` command of its deploy block exists, every flag it uses
// is one the command's `--help` lists (with a value where the flag takes one),
// a command that targets the local database unless told otherwise is told
// (--remote), and every `npx strata` command exists. Then the block's
// `functions deploy` line runs, as written, on a copy of supabase/ linked to a
// made-up project, against a stand-in of Supabase's Management API on
// loopback (a CLI profile points there): each function must upload on its own,
// with its own deno.json as its import map and every file it imports.
import { spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../src/cli/project.ts';
import { supabaseCliPath } from '../src/dev/migrations.ts';

interface Command {
  line: string;
  /** `supabase` or `strata` */
  tool: string;
  args: string[];
}

/** Shell-like words: quotes kept together, a trailing `# comment` dropped. */
function words(line: string): string[] {
  const out: string[] = [];
  let current = '';
  let quote: string | null = null;
  let started = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = null;
      else current += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      started = true;
    } else if (c === '#' && !started && current === '') {
      break;
    } else if (/\s/.test(c)) {
      if (started) out.push(current);
      current = '';
      started = false;
    } else {
      current += c;
      started = true;
    }
  }
  if (started) out.push(current);
  return out;
}

/** The commands of the first sh block under "## Deploying to a Supabase project". */
async function readmeDeployCommands(): Promise<Command[]> {
  const readme = await readFile(path.join(PROJECT_ROOT, 'README.md'), 'utf8');
  const section = readme.split(/^## /m).find((s) => s.startsWith('Deploying to a Supabase project'));
  if (!section) throw new Error('README.md has no "Deploying to a Supabase project" section');
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error('the deploy section has no sh block');
  const lines = block.replace(/\\\n\s*/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  return lines.map((line) => {
    const all = words(line);
    const start = all.findIndex((w) => !/^[A-Z_][A-Z0-9_]*=/.test(w)); // skip VAR=value prefixes
    const [npx, tool, ...args] = all.slice(start);
    if (npx !== 'npx' || !tool) throw new Error(`not an npx command: ${line}`);
    return { line: all.join(' '), tool, args };
  });
}

function run(command: string, args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? PROJECT_ROOT,
      env: { ...process.env, SUPABASE_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1', NO_COLOR: '1', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

const supabase = (args: string[], options?: Parameters<typeof run>[2]) => run(process.execPath, [supabaseCliPath(), ...args], options);

interface Help {
  /** The command's words from its USAGE line (`supabase db push [flags]` → db push). */
  usage: string[];
  /** A command group (`supabase db <subcommand>`), not a command. */
  group: boolean;
  target: string;
  /** Flag name (long or short) → whether it needs a value. */
  flags: Map<string, 'value' | 'optional' | 'none'>;
}

function parseHelp(text: string): Help {
  const sections = new Map<string, string[]>();
  let current = '';
  for (const line of text.split('\n')) {
    if (/^[A-Z][A-Z ]+$/.test(line.trim()) && !line.startsWith(' ')) current = line.trim();
    else if (current) sections.set(current, [...(sections.get(current) ?? []), line]);
  }
  const usageLine = (sections.get('USAGE') ?? []).map((l) => l.trim()).find((l) => l.startsWith('supabase')) ?? '';
  const usage: string[] = [];
  for (const word of usageLine.split(/\s+/).slice(1)) {
    if (!/^[a-z][a-z0-9-]*$/.test(word)) break;
    usage.push(word);
  }
  const flags = new Map<string, 'value' | 'optional' | 'none'>();
  for (const line of [...(sections.get('FLAGS') ?? []), ...(sections.get('GLOBAL FLAGS') ?? [])]) {
    const spec = line.trim().split(/\s{2,}/)[0] ?? '';
    if (!spec.startsWith('-')) continue;
    const names = [...spec.matchAll(/(?:^|[\s,])(--?[A-Za-z][\w-]*)/g)].map((m) => m[1]!);
    const rest = spec.replace(/(?:^|[\s,])--?[A-Za-z][\w-]*/g, '').trim();
    const kind = spec.includes('[=') ? 'optional' : rest ? 'value' : 'none';
    for (const name of names) flags.set(name, kind);
  }
  return { usage, group: usageLine.includes('<subcommand>'), target: (sections.get('TARGET') ?? []).join(' ').trim(), flags };
}

let commands: Command[];
beforeAll(async () => {
  commands = await readmeDeployCommands();
});

describe("the README's deploy commands", () => {
  it('are the deploy path: login, link, migrations, secrets, functions, bucket', () => {
    const names = commands.map((c) => `${c.tool} ${c.args.filter((a) => /^[a-z][a-z-]*$/.test(a)).slice(0, 2).join(' ')}`);
    expect(names).toEqual(['supabase login', 'supabase link', 'supabase db push', 'supabase secrets set', 'supabase functions deploy', 'strata bucket setup']);
  });

  it('use only commands and flags the pinned Supabase CLI has, and reach the linked project', async () => {
    const problems: string[] = [];
    for (const command of commands.filter((c) => c.tool === 'supabase')) {
      const firstOther = command.args.findIndex((a) => !/^[a-z][a-z-]*$/.test(a));
      const leading = firstOther === -1 ? command.args : command.args.slice(0, firstOther);
      const help = await supabase([...leading, '--help']);
      expect(help.code, help.stderr).toBe(0);
      const parsed = parseHelp(help.stdout);
      if (parsed.group || parsed.usage.length === 0 || parsed.usage.join(' ') !== leading.slice(0, parsed.usage.length).join(' ')) {
        problems.push(`${command.line}: "supabase ${leading.join(' ')}" is not a command (USAGE: ${parsed.usage.join(' ')})`);
        continue;
      }
      const args = command.args.slice(parsed.usage.length);
      for (let i = 0; i < args.length; i++) {
        const arg = args[i]!;
        if (!arg.startsWith('-')) continue;
        const [name, inline] = arg.split(/=(.*)/s) as [string, string | undefined];
        const kind = parsed.flags.get(name);
        if (!kind) problems.push(`${command.line}: supabase ${parsed.usage.join(' ')} has no flag ${name}`);
        else if (kind === 'value' && inline === undefined) {
          const value = args[i + 1];
          if (value === undefined || value.startsWith('-')) problems.push(`${command.line}: ${name} needs a value`);
          i++;
        } else if (kind === 'none' && inline !== undefined) problems.push(`${command.line}: ${name} takes no value`);
      }
      // "Local by default" (db push in CLI 3): the deploy path must say --remote.
      if (/^Local by default/i.test(parsed.target) && !args.some((a) => a === '--remote' || a.startsWith('--remote='))) {
        problems.push(`${command.line}: targets the local database (${parsed.target}); add --remote for the linked project`);
      }
    }
    expect(problems).toEqual([]);
  }, 120_000);

  it('use only strata commands that exist', async () => {
    const usage = (await run(process.execPath, ['bin/strata.mjs', '--help'])).stdout;
    for (const command of commands.filter((c) => c.tool === 'strata')) {
      const [verb, sub] = command.args;
      expect(usage, command.line).toMatch(new RegExp(`^  ${verb} ${sub}\\b`, 'm'));
    }
  });
});

describe("the README's functions deploy", () => {
  const REF = 'abcdefghijklmnopqrst';
  let workdir: string;
  let api: http.Server;
  const deploys: Array<{ slug: string; metadata: Record<string, unknown>; files: Map<string, string> }> = [];
  const requests: string[] = [];

  beforeAll(async () => {
    api = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk) => chunks.push(chunk));
      request.on('end', async () => {
        const url = new URL(request.url!, 'http://api');
        requests.push(`${request.method} ${url.pathname}`);
        const slug = url.searchParams.get('slug');
        if (request.method === 'POST' && url.pathname === `/v1/projects/${REF}/functions/deploy` && slug) {
          const form = await new Response(Buffer.concat(chunks), { headers: { 'content-type': request.headers['content-type']! } }).formData();
          const files = new Map<string, string>();
          for (const entry of form.getAll('file')) files.set((entry as File).name, await (entry as File).text());
          deploys.push({ slug, metadata: JSON.parse(String(form.get('metadata'))), files });
          response.writeHead(201, { 'content-type': 'application/json' });
          response.end(JSON.stringify({ id: slug, slug, name: slug, version: 1, status: 'ACTIVE', created_at: 0, updated_at: 0 }));
          return;
        }
        response.writeHead(200, { 'content-type': 'application/json' }).end(request.method === 'GET' && url.pathname.endsWith('/functions') ? '[]' : '{}');
      });
    });
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
    workdir = await mkdtemp(path.join(tmpdir(), 'strata-deploy-'));
    // A copy of the project's supabase/ folder, linked as `supabase link` leaves it.
    await cp(path.join(PROJECT_ROOT, 'supabase', 'functions'), path.join(workdir, 'supabase', 'functions'), { recursive: true });
    await cp(path.join(PROJECT_ROOT, 'supabase', 'config.toml'), path.join(workdir, 'supabase', 'config.toml'));
    await mkdir(path.join(workdir, 'supabase', '.temp'), { recursive: true });
    await writeFile(path.join(workdir, 'supabase', '.temp', 'project-ref'), REF);
    await mkdir(path.join(workdir, 'home'));
    const port = (api.address() as { port: number }).port;
    await writeFile(path.join(workdir, 'profile.json'), JSON.stringify({
      name: 'strata-test', api_url: `http://127.0.0.1:${port}`, dashboard_url: `http://127.0.0.1:${port}/dashboard`, project_host: 'supabase.test',
    }));
  });

  afterAll(async () => {
    await new Promise((resolve) => api.close(resolve));
    if (workdir) await rm(workdir, { recursive: true, force: true });
  });

  it('deploys every function on its own: its index.ts, the _shared modules it imports, its own deno.json', async () => {
    const deploy = commands.find((c) => c.tool === 'supabase' && c.args[0] === 'functions' && c.args[1] === 'deploy')!;
    const result = await supabase([...deploy.args, '--yes', '--profile', path.join(workdir, 'profile.json'), '--workdir', workdir], {
      cwd: workdir,
      env: { HOME: path.join(workdir, 'home'), SUPABASE_ACCESS_TOKEN: `sbp_${'0'.repeat(40)}` },
    });
    expect(result.code, result.stdout + result.stderr).toBe(0);

    const functionsDir = path.join(PROJECT_ROOT, 'supabase', 'functions');
    const names = (await readdir(functionsDir, { withFileTypes: true })).filter((e) => e.isDirectory() && !e.name.startsWith('_')).map((e) => e.name).sort();
    expect(deploys.map((d) => d.slug).sort()).toEqual(names);
    expect(requests).toContain(`PUT /v1/projects/${REF}/functions`);

    for (const { slug, metadata, files } of deploys) {
      expect(metadata, slug).toMatchObject({
        name: slug,
        entrypoint_path: `supabase/functions/${slug}/index.ts`,
        import_map_path: `supabase/functions/${slug}/deno.json`,
        verify_jwt: true,
      });
      expect([...files.keys()], slug).toContain(`supabase/functions/${slug}/deno.json`);
      expect([...files.keys()], slug).not.toContain('supabase/functions/deno.json');
      const importMap = JSON.parse(files.get(`supabase/functions/${slug}/deno.json`)!) as { imports: Record<string, string> };
      for (const [file, text] of files) {
        expect(file, slug).toMatch(new RegExp(`^supabase/functions/(${slug}|_shared)/`));
        expect(text, file).toBe(await readFile(path.join(PROJECT_ROOT, file), 'utf8'));
        if (!file.endsWith('.ts')) continue;
        // Self-contained: every import resolves within what was uploaded.
        for (const match of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) {
          const specifier = (match[1] ?? match[2])!;
          if (specifier.startsWith('.')) {
            expect([...files.keys()], `${file} imports ${specifier}`).toContain(path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier)));
          } else if (!/^(node|npm|jsr|https?):/.test(specifier)) {
            expect(Object.keys(importMap.imports), `${file} imports ${specifier}`).toContain(specifier);
          }
        }
      }
    }
  }, 120_000);
});
