// @strata/client as an app gets it from npm: built (esbuild + tsc), packed
// with `npm pack`, unpacked into an app's node_modules beside the oldest and
// the newest supabase-js it claims (2.10.0, 2.119.1), and then
// - run from plain Node ESM (no TypeScript loader) against the real stack;
// - type-checked as a consumer would, with moduleResolution bundler and node16;
// - bundled for the browser by esbuild and run in Debian's chromium.
import { execFileSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PROJECT_ROOT } from '../src/cli/project.ts';
import { freePort } from '../src/dev/ports.ts';
import { tokenFor, waitForArchived } from './helpers/archive.ts';
import { launchChromium } from './helpers/browser.ts';
import { connect, createUser, type Sql } from './helpers/db.ts';

const stack = inject('stack');
const PACKAGE_DIR = path.join(PROJECT_ROOT, 'packages', 'client');
const FIXTURE = path.join(PROJECT_ROOT, 'tests', 'fixtures', 'client-consumer');
const VERSIONS = [
  { name: 'oldest', version: '2.10.0', module: 'supabase-js-oldest' },
  { name: 'newest', version: '2.119.1', module: 'supabase-js-newest' },
] as const;

let work = '';
let sql: Sql;
let files: string[] = [];
const appDir = (name: string) => path.join(work, `app-${name}`);

beforeAll(async () => {
  sql = connect({ max: 1 });
  work = await mkdtemp(path.join(tmpdir(), 'strata-client-package-'));
  execFileSync(process.execPath, [path.join(PACKAGE_DIR, 'build.mjs')], { cwd: PACKAGE_DIR, stdio: 'pipe' });
  const [packed] = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: PACKAGE_DIR, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })) as Array<{ filename: string; files: Array<{ path: string }> }>;
  files = packed!.files.map((f) => f.path).sort();
  execFileSync('tar', ['xzf', path.join(work, packed!.filename), '-C', work]);

  // One app per supabase-js version: the package as npm would unpack it, and
  // supabase-js linked from the repo's pinned copies (their own dependencies resolve beside them).
  for (const { name, module } of VERSIONS) {
    const app = appDir(name);
    await mkdir(path.join(app, 'node_modules', '@strata'), { recursive: true });
    await mkdir(path.join(app, 'node_modules', '@supabase'), { recursive: true });
    await cp(path.join(work, 'package'), path.join(app, 'node_modules', '@strata', 'client'), { recursive: true });
    await symlink(path.join(PROJECT_ROOT, 'node_modules', module), path.join(app, 'node_modules', '@supabase', 'supabase-js'));
    await symlink(path.join(PROJECT_ROOT, 'node_modules', 'ws'), path.join(app, 'node_modules', 'ws'));
    await cp(FIXTURE, app, { recursive: true });
    await writeFile(path.join(app, 'package.json'), JSON.stringify({ name: `consumer-${name}`, private: true, type: 'module' }));
  }
}, 120_000);

afterAll(async () => {
  await sql?.end();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('the packed package', () => {
  it('holds the built module, its declarations and the README, and no sources', async () => {
    // The API types are declared beside the functions that answer them, so their declarations keep that layout.
    expect(files).toEqual(expect.arrayContaining([
      'README.md', 'package.json', 'dist/index.js', 'dist/index.d.ts',
      'dist/types/packages/client/src/index.d.ts',
      'dist/types/supabase/functions/_shared/conversations/api-types.d.ts',
      'dist/types/supabase/functions/_shared/database.types.d.ts',
    ]));
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    // Declarations name .js files (every moduleResolution maps them to .d.ts), never the sources' .ts.
    for (const file of files.filter((f) => f.endsWith('.d.ts'))) {
      expect(await readFile(path.join(work, 'package', file), 'utf8'), file).not.toMatch(/from\s+'[^']*\.ts'/);
    }
    const manifest = JSON.parse(await readFile(path.join(work, 'package', 'package.json'), 'utf8'));
    expect(manifest).toMatchObject({
      name: '@strata/client',
      type: 'module',
      exports: { '.': { types: './dist/index.d.ts', import: './dist/index.js' } },
      peerDependencies: { '@supabase/supabase-js': '^2.10.0' },
      sideEffects: false,
    });
    expect(manifest.dependencies ?? {}).toEqual({});
    const code = await readFile(path.join(work, 'package', 'dist', 'index.js'), 'utf8');
    expect(code).not.toMatch(/from ["'](node:|@supabase)|require\(/);
  });
});

describe.each(VERSIONS)('with supabase-js $version ($name)', ({ name, version }) => {
  it('is that version that the app loads', async () => {
    const loaded = execFileSync(process.execPath, ['--input-type=module', '-e', "import { createRequire } from 'node:module'; console.log(createRequire(process.cwd() + '/')('@supabase/supabase-js/package.json').version)"], { cwd: appDir(name), encoding: 'utf8' });
    expect(loaded.trim()).toBe(version);
  });

  it('runs from plain Node ESM against the stack: chat, errors as StrataError, delete, archive, restore', async () => {
    const user = await createUser(sql, `package-${name}`);
    const input = { apiUrl: stack.apiUrl, anonKey: stack.anonKey, token: tokenFor(user) };
    const run = (command: string, extra: Record<string, unknown> = {}) =>
      JSON.parse(execFileSync(process.execPath, ['app.mjs', command], { cwd: appDir(name), encoding: 'utf8', env: { ...process.env, STORY_INPUT: JSON.stringify({ ...input, ...extra }) } }));
    const result = run('story');
    expect(result).toMatchObject({
      messages: [['user', 'Hello', null], ['assistant', 'Hi!', 'positive']],
      missing: { strata: true, code: 'not_found', status: 404 },
      invalid: { strata: true, code: 'invalid_id', status: 400 },
      deleted: result.conversationId,
    });
    expect(result.listed).toContain(result.conversationId);
    await waitForArchived(sql, [result.conversationId]);
    const restored = run('restore', { conversationId: result.conversationId });
    expect(restored.archived).toContain(result.conversationId);
    expect(restored.restored).toEqual({ conversation_id: result.conversationId, message_count: 2, restored: true });
  });

  it.each(['bundler', 'node16'])('type-checks as a consumer with moduleResolution %s (no TS2345, real types)', async (resolution) => {
    const module = resolution === 'node16' ? 'Node16' : 'ESNext';
    const config = path.join(appDir(name), `tsconfig.${resolution}.json`);
    await writeFile(config, JSON.stringify({
      compilerOptions: { target: 'ES2022', module, moduleResolution: resolution === 'node16' ? 'Node16' : 'Bundler', lib: ['ES2022', 'DOM'], types: [], strict: true, noEmit: true, skipLibCheck: true },
      files: ['consumer.ts'],
    }));
    const tsc = path.join(PROJECT_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    let output = '';
    try {
      execFileSync(process.execPath, [tsc, '-p', config], { cwd: appDir(name), encoding: 'utf8', stdio: 'pipe' });
    } catch (error) {
      output = String((error as { stdout?: string }).stdout ?? error);
    }
    expect(output).toBe('');
  });
});

describe('in a browser bundle', () => {
  let browser: Browser | undefined;
  let server: http.Server | undefined;
  let origin = '';
  const bundles = new Map<string, string>();

  beforeAll(async () => {
    browser = await launchChromium();
    for (const { name } of VERSIONS) {
      // platform 'browser': a Node built-in anywhere in the graph fails the build.
      const result = await build({
        entryPoints: [path.join(appDir(name), 'browser.mjs')],
        bundle: true, format: 'esm', platform: 'browser', target: 'es2020', write: false, logLevel: 'silent',
        absWorkingDir: appDir(name),
      });
      bundles.set(name, result.outputFiles[0]!.text);
    }
    server = http.createServer((request, response) => {
      const name = /^\/(\w+)\.js$/.exec(request.url ?? '')?.[1];
      const bundle = name ? bundles.get(name) : undefined;
      if (bundle) response.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle);
      else response.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>consumer</title>');
    });
    const port = await freePort();
    await new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${port}`;
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(null)));
  });

  it.each(VERSIONS.map((v) => [v.name, v.version]))('runs the story in chromium with supabase-js %s (%s)', async (name) => {
    const user = await createUser(sql, `browser-${name}`);
    const page = await browser!.newPage();
    try {
      await page.goto(`${origin}/`);
      await page.addScriptTag({ url: `${origin}/${name}.js`, type: 'module' });
      await page.waitForFunction(() => typeof (window as unknown as { runStory?: unknown }).runStory === 'function');
      const input = { apiUrl: stack.apiUrl, anonKey: stack.anonKey, token: tokenFor(user) };
      const result = await page.evaluate((story) => (window as unknown as { runStory(i: unknown): Promise<Record<string, unknown>> }).runStory(story), input);
      expect(result).toMatchObject({
        messages: [['user', 'Hello', null], ['assistant', 'Hi!', 'positive']],
        missing: { strata: true, code: 'not_found', status: 404 },
        invalid: { strata: true, code: 'invalid_id', status: 400 },
        deleted: result.conversationId,
      });
    } finally {
      await page.close();
    }
  });
});
