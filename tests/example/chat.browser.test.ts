// The chat example (examples/chat) in a real browser against the test stack:
// Debian's chromium driven by playwright-core (never a downloaded browser).
// The page is built for this stack and served on a free port; the test goes
// through the whole story a frontend developer would: sign up, sign out, a
// wrong password, sign in, a conversation with messages and feedback, its
// history after a reload, a refused upload, a PDF uploaded and processed, the
// conversation deleted, archived and restored. And `npm run example`: what it
// says without a stack, and the page it serves with one.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GetBucketCorsCommand } from '@aws-sdk/client-s3';
import type { Browser, Locator, Page } from 'playwright-core';
import type { PreviewServer } from 'vite';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildChat, previewChat } from '../../examples/chat/serve.ts';
import { PROJECT_ROOT } from '../../src/cli/project.ts';
import { browserUploadCors } from '../../src/ops/bucket-setup.ts';
import { freePort } from '../../src/dev/ports.ts';
import { launchChromium } from '../helpers/browser.ts';
import { connect } from '../helpers/db.ts';
import { makePdf, PNG_BYTES } from '../helpers/pdf.ts';
import { directS3 } from '../helpers/s3.ts';

const stack = inject('stack');
const SCREENSHOT = path.join(tmpdir(), 'strata-chat-example.png');

let browser: Browser | undefined;
let server: PreviewServer | undefined;
let pageUrl = '';
let outDir = '';
let page: Page | undefined;
/** What the page logged as errors, for the failure message. */
const pageErrors: string[] = [];

beforeAll(async () => {
  // A missing browser fails the run with what to do; it is never skipped.
  browser = await launchChromium();
  outDir = await mkdtemp(path.join(tmpdir(), 'strata-chat-'));
  await buildChat(stack, outDir);
  ({ url: pageUrl, server } = await previewChat(outDir, await freePort()));
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (outDir) await rm(outDir, { recursive: true, force: true });
});

afterEach(async (context) => {
  if (context.task.result?.state === 'fail' && page && !page.isClosed()) {
    await page.screenshot({ path: path.join(tmpdir(), 'strata-chat-example-failure.png'), fullPage: true }).catch(() => {});
  }
});

/** Waits (bounded) for the locator to be visible and to hold text matching `text`. */
async function waitForText(locator: Locator, text: RegExp, timeoutMs = 10_000): Promise<void> {
  await locator.filter({ hasText: text }).first().waitFor({ state: 'visible', timeout: timeoutMs }).catch(async (error: Error) => {
    const seen = await locator.allInnerTexts().catch(() => []);
    const shown = page ? await page.getByTestId('error').innerText().catch(() => '') : '';
    throw new Error(`${error.message.split('\n')[0]}\nexpected ${text}, saw ${JSON.stringify(seen)}; the page's error box: ${JSON.stringify(shown)}; page errors: ${JSON.stringify(pageErrors)}`);
  });
}

describe('the local bucket for browser uploads', () => {
  it("has bucket setup's CORS rule for any origin, and answers a presigned PUT's preflight", async () => {
    const { s3, bucket } = directS3();
    const cors = await s3.send(new GetBucketCorsCommand({ Bucket: bucket }));
    expect(cors.CORSRules).toEqual([expect.objectContaining(browserUploadCors(['*']).CORSRules![0])]);
    const preflight = await fetch(`${stack.s3Endpoint}/${bucket}/files/some-user/some-file/incoming`, {
      method: 'OPTIONS',
      headers: { origin: 'http://127.0.0.1:5173', 'access-control-request-method': 'PUT', 'access-control-request-headers': 'content-type' },
    });
    expect(preflight.status).toBe(200);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
    expect(preflight.headers.get('access-control-allow-methods')).toContain('PUT');
    expect(preflight.headers.get('access-control-allow-headers')).toBe('content-type');
  });
});

describe('the chat example in a real browser', () => {
  it('signs up and in, chats with feedback, uploads a PDF, and archives and restores a conversation', async () => {
    const context = await browser!.newContext();
    page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text());
    });
    const sql = connect({ max: 1 });
    try {
      const p = page;
      const email = `chat-${randomUUID()}@example.test`;
      const password = 'a long local password';
      await p.goto(pageUrl);
      const session = p.getByTestId('session-status');
      const error = p.getByTestId('error');

      // Sign up (local Auth confirms at once), sign out, a wrong password, sign in.
      await waitForText(session, /Not signed in/);
      await p.getByLabel('E-mail').fill(email);
      await p.getByLabel('Password').fill(password);
      await p.getByRole('button', { name: 'Sign up' }).click();
      await waitForText(session, new RegExp(`Signed in as ${email}`));
      await p.getByRole('button', { name: 'Sign out' }).click();
      await waitForText(session, /Not signed in/);
      await p.getByLabel('E-mail').fill(email);
      await p.getByLabel('Password').fill('not the password');
      await p.getByRole('button', { name: 'Sign in' }).click();
      await waitForText(error, /Invalid login credentials/);
      await p.getByLabel('Password').fill(password);
      await p.getByRole('button', { name: 'Sign in' }).click();
      await waitForText(session, new RegExp(`Signed in as ${email}`));
      expect(await error.isHidden()).toBe(true);

      // A conversation, two messages, feedback on the answer.
      await p.getByLabel('Title').fill('Trip to Lisbon');
      await p.getByRole('button', { name: 'New conversation' }).click();
      await waitForText(p.getByTestId('chat-title'), /Trip to Lisbon/);
      await p.getByLabel('Message', { exact: true }).fill('Where should we eat?');
      await p.getByRole('button', { name: 'Send' }).click();
      await waitForText(p.getByTestId('message'), /Where should we eat\?/);
      await p.getByLabel('Send as').selectOption('assistant');
      await p.getByLabel('Message', { exact: true }).fill('Try the pastéis de nata in Belém.');
      await p.getByRole('button', { name: 'Send' }).click();
      const answer = p.getByTestId('message').filter({ hasText: 'pastéis de nata' });
      await answer.waitFor();
      await answer.getByRole('button', { name: 'Helpful', exact: true }).click();
      await waitForText(answer.getByTestId('feedback'), /Feedback: helpful/);
      expect(await answer.getByRole('button', { name: 'Helpful', exact: true }).getAttribute('aria-pressed')).toBe('true');
      const conversation = p.getByTestId('conversation').filter({ hasText: 'Trip to Lisbon' });
      await waitForText(conversation, /2 messages/);
      const conversationId = (await conversation.getAttribute('data-id'))!;

      // The history comes back from the server after a reload, feedback included.
      await p.reload();
      await waitForText(session, /Signed in as/);
      await p.getByRole('button', { name: 'Trip to Lisbon', exact: true }).click();
      await waitForText(p.getByTestId('chat-title'), /Trip to Lisbon/);
      await waitForText(p.getByTestId('message').last(), /pastéis de nata/);
      const history = async () => p.getByTestId('message').evaluateAll((items) =>
        items.map((item) => [item.getAttribute('data-role'), item.querySelector('[data-testid=message-content]')?.textContent, item.getAttribute('data-feedback')]));
      const expectedHistory = [['user', 'Where should we eat?', 'none'], ['assistant', 'Try the pastéis de nata in Belém.', 'positive']];
      expect(await history()).toEqual(expectedHistory);

      // A PNG named .pdf: Strata refuses it, and the page says why (StrataError as text).
      const fileInput = p.getByLabel('PDF, text, Markdown, CSV or JSON file');
      await fileInput.setInputFiles({ name: 'not-a.pdf', mimeType: 'application/pdf', buffer: Buffer.from(PNG_BYTES) });
      await p.getByRole('button', { name: 'Upload' }).click();
      await waitForText(error, /upload_rejected, HTTP 422/);
      await waitForText(p.getByTestId('upload-status'), /upload of not-a\.pdf failed/);
      await waitForText(p.getByTestId('file').filter({ hasText: 'not-a.pdf' }), /Failed\s*upload rejected/);

      // A real PDF: presigned PUT from the browser to S3 (CORS), complete, processed.
      const pdf = makePdf(['Pastries of Lisbon', 'Custard tarts from Belem since 1837']);
      await fileInput.setInputFiles({ name: 'Lisbon guide.pdf', mimeType: 'application/pdf', buffer: Buffer.from(pdf) });
      await p.getByRole('button', { name: 'Upload' }).click();
      await waitForText(p.getByTestId('upload-status'), /Uploaded Lisbon guide\.pdf/);
      const file = p.getByTestId('file').filter({ hasText: 'Lisbon guide.pdf' });
      await file.and(p.locator('[data-status=processed]')).waitFor({ timeout: 25_000 });
      await waitForText(file, /Processed.*2 pages, \d+ words/);
      expect(await error.isHidden()).toBe(true);

      // Delete: gone from the list at once, then pending → archived in the archive list.
      await conversation.getByRole('button', { name: 'Delete “Trip to Lisbon”' }).click();
      await waitForText(p.locator('#conversations-status'), /Deleted “Trip to Lisbon”: it is archived in the background/);
      await conversation.waitFor({ state: 'detached' });
      const archived = p.locator(`[data-testid=archived][data-id="${conversationId}"]`);
      await archived.waitFor();
      const firstState = await archived.getAttribute('data-status');
      expect(['pending', 'archiving', 'stored']).toContain(firstState);
      await archived.and(p.locator('[data-status=stored]')).waitFor({ timeout: 20_000 });
      await waitForText(archived, /Trip to Lisbon\s*Archived\s*2 messages/);
      await waitForText(p.getByTestId('archive-status'), /Up to date/);
      await p.screenshot({ path: SCREENSHOT.replace(/\.png$/, '-archived.png'), fullPage: true });

      // Restore: back in the list and open, with its messages and feedback; no longer archived.
      await archived.getByRole('button', { name: 'Restore “Trip to Lisbon”' }).click();
      await waitForText(p.getByTestId('archive-status'), /Restored “Trip to Lisbon” with 2 messages/);
      await archived.waitFor({ state: 'detached' });
      await waitForText(p.getByTestId('conversation'), /Trip to Lisbon\s*2 messages/);
      await waitForText(p.locator('#conversations-status'), /Restored “Trip to Lisbon” from the archive/);
      await waitForText(p.getByTestId('chat-title'), /Trip to Lisbon/);
      await waitForText(p.getByTestId('message').last(), /pastéis de nata/);
      expect(await history()).toEqual(expectedHistory);
      expect(await error.isHidden()).toBe(true);
      expect(pageErrors.filter((e) => !/status of 4\d\d/.test(e))).toEqual([]);

      // What the page showed is what the database holds.
      const rows = await sql`
        select m.role, m.content, m.feedback from public.messages m
        where m.conversation_id = ${conversationId} order by m.created_at, m.id`;
      expect(rows.map((r) => [r.role, r.content, r.feedback ?? 'none'])).toEqual(expectedHistory);
      const [pdfRow] = await sql`select status, page_count from public.files where original_name = 'Lisbon guide.pdf' and user_id = (select id from auth.users where email = ${email})`;
      expect(pdfRow).toEqual({ status: 'processed', page_count: 2 });

      await p.screenshot({ path: SCREENSHOT, fullPage: true });
    } finally {
      await sql.end();
      await context.close();
    }
  }, 45_000);
});

describe('npm run example', () => {
  const serve = (env: Record<string, string>, ...args: string[]) =>
    spawn(process.execPath, ['--import', 'tsx', 'examples/chat/serve.ts', ...args], { cwd: PROJECT_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });

  it('says the local stack is not running, and how to start it', async () => {
    const nowhere = await mkdtemp(path.join(tmpdir(), 'strata-no-stack-'));
    try {
      const child = serve({ STRATA_STATE_DIR: nowhere });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      expect(code).toBe(1);
      expect(stderr).toContain(`The local Strata stack is not running (no running stack in ${nowhere})`);
      expect(stderr).toContain('Start it with "npm start" in another terminal');
    } finally {
      await rm(nowhere, { recursive: true, force: true });
    }
  });

  it("serves the page for the running stack (read from its state file) and prints the URL to open", async () => {
    const child = serve({ STRATA_STATE_DIR: stack.stateDir }, '--port', String(await freePort()));
    try {
      let stdout = '';
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no URL printed in 20 s; stdout: ${stdout}; stderr: ${stderr}`)), 20_000);
        child.stdout.on('data', (chunk: Buffer) => {
          stdout += chunk.toString();
          const match = /Open (http:\/\/\S+)/.exec(stdout);
          if (match) {
            clearTimeout(timer);
            resolve(match[1]!);
          }
        });
        child.on('exit', (code) => reject(new Error(`exited with ${code}; stderr: ${stderr}`)));
      });
      expect(stdout).toContain(`against the local stack at ${stack.apiUrl}`);
      const html = await fetch(url).then((r) => r.text());
      expect(html).toContain('<h1>Strata chat</h1>');
      // The stack's URL and key reach the page (Vite's define): it offers to sign in, not "Not configured".
      const context = await browser!.newContext();
      try {
        page = await context.newPage();
        await page.goto(url);
        await waitForText(page.getByTestId('session-status'), /Not signed in/, 20_000);
        await waitForText(page.getByTestId('auth'), /Sign up or sign in/);
      } finally {
        await context.close();
      }
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => (child.exitCode === null ? child.on('exit', resolve) : resolve(null)));
    }
  });
});
