// Test data for the archive benchmark: users, conversations with realistic
// chat text (deterministic, seeded), bulk rows made with generate_series, and
// the archive documents built in Node exactly as the worker writes them
// (format_version 1, rows serialised by Postgres with to_jsonb).
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type postgres from 'postgres';

type Sql = postgres.Sql;

import { prng } from '../common.ts';

// A vocabulary of common English and technical words. Words are drawn with a
// Zipf-like distribution (rank r has weight 1/(r+1)), which gives gzip roughly
// the compressibility of real chat text rather than of repeated filler.
const VOCABULARY = (
  'the of and to a in is you that it for on with as are this be can or your by an not from at have if will ' +
  'we use data more one which all do when how there they so about what but their would was has like file each ' +
  'function value need also then make should into time these could other new first some only here example set ' +
  'any code way using user them its way may number model first run output input key list return string type error ' +
  'because table query request response server client database column row index result test case step check change ' +
  'update create delete read write object array field name path config option default build version package module ' +
  'import export class method call async await promise event handler state component page route token session cache ' +
  'memory thread process queue worker job batch stream buffer chunk size limit timeout retry backoff lease lock ' +
  'transaction commit rollback snapshot schema migration policy role permission access secret bucket region endpoint ' +
  'upload download archive restore backup compress gzip hash checksum signature header body status code message ' +
  'conversation assistant question answer explain summary detail reason problem solution approach idea note point ' +
  'simple better faster slower larger smaller important useful possible different similar specific general common ' +
  'usually often sometimes always never already still just even much many most less least very quite rather really ' +
  'because although however therefore instead otherwise meanwhile finally actually probably certainly basically ' +
  'people customer team project product feature release plan week month year today tomorrow morning evening meeting ' +
  'write rewrite review improve optimise measure compare analyse describe consider suggest recommend prefer avoid ' +
  'python typescript javascript postgres sql json yaml docker linux shell script terminal command flag argument ' +
  'recipe travel budget price cost invoice email letter report draft outline chapter paragraph sentence word ' +
  'health sleep exercise training weather city country language history science music movie book story character'
).split(' ');

const CUMULATIVE = (() => {
  const weights = VOCABULARY.map((_, rank) => 1 / (rank + 1));
  const total = weights.reduce((a, b) => a + b, 0);
  let sum = 0;
  return weights.map((w) => (sum += w / total));
})();

function word(random: () => number): string {
  const x = random();
  let lo = 0;
  let hi = CUMULATIVE.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (CUMULATIVE[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return VOCABULARY[lo]!;
}

function sentence(random: () => number): string {
  const length = 5 + Math.floor(random() * 18);
  const words: string[] = [];
  for (let i = 0; i < length; i++) {
    let w = word(random);
    if (random() < 0.02) w = String(Math.floor(random() * 10_000));
    if (i > 0 && random() < 0.07) w += ',';
    words.push(w);
  }
  const text = words.join(' ');
  return text.charAt(0).toUpperCase() + text.slice(1) + (random() < 0.1 ? '?' : '.');
}

function paragraph(random: () => number, sentences: number): string {
  return Array.from({ length: sentences }, () => sentence(random)).join(' ');
}

/** A user prompt: one to three sentences. */
export function userText(random: () => number): string {
  return paragraph(random, 1 + Math.floor(random() * 3));
}

/** An assistant answer: paragraphs, sometimes a list or a code block (~0.5–3 KB). */
export function assistantText(random: () => number): string {
  const parts: string[] = [];
  const paragraphs = 1 + Math.floor(random() * 4);
  for (let p = 0; p < paragraphs; p++) {
    parts.push(paragraph(random, 2 + Math.floor(random() * 5)));
    if (random() < 0.25) {
      parts.push(Array.from({ length: 2 + Math.floor(random() * 4) }, (_, i) => `${i + 1}. ${sentence(random)}`).join('\n'));
    }
    if (random() < 0.15) {
      const name = word(random);
      parts.push('```ts\n' + `const ${name}${p} = await ${word(random)}(${word(random)}, { ${word(random)}: ${Math.floor(random() * 100)} });\n` + `if (!${name}${p}) throw new Error('${sentence(random)}');\n` + '```');
    }
  }
  return parts.join('\n\n');
}

/**
 * Real English prose for message text: the paragraphs of the README.md files
 * of the installed packages (technical prose with lists and code blocks, much
 * like an assistant's answers), in a fixed order. null when there is too
 * little of it; the word generator above is used instead.
 */
export function loadCorpus(nodeModules: string): string[] | null {
  const files: string[] = [];
  const visit = (dir: string, depth: number) => {
    let entries: string[];
    try {
      entries = readdirSync(dir).sort();
    } catch {
      return;
    }
    for (const name of entries) {
      const full = path.join(dir, name);
      if (/^readme\.md$/i.test(name)) {
        try {
          if (statSync(full).size > 8 * 1024) files.push(full);
        } catch {
          // unreadable: skip
        }
      } else if (depth < 2 && !name.startsWith('.')) {
        try {
          if (statSync(full).isDirectory()) visit(full, depth + 1);
        } catch {
          // skip
        }
      }
    }
  };
  visit(nodeModules, 0);
  const paragraphs: string[] = [];
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    for (const block of text.split(/\n\s*\n/)) {
      const paragraph = block
        .split('\n')
        .filter((line) => !/^\s*(<|\[!\[|!\[)/.test(line))
        .join('\n')
        .trim();
      if (paragraph.length >= 40 && /[a-z]{3,} [a-z]{3,}/i.test(paragraph)) paragraphs.push(paragraph);
    }
  }
  const total = paragraphs.reduce((a, p) => a + p.length, 0);
  return total >= 200 * 1024 ? paragraphs : null;
}

/** Message text cut from the corpus at a random place: a few paragraphs, or one to three sentences for a prompt. */
export function corpusText(corpus: string[], random: () => number, assistant: boolean): string {
  const start = Math.floor(random() * corpus.length);
  if (!assistant) {
    const sentences = corpus[start]!.replace(/\s+/g, ' ').split(/(?<=[.?!])\s+/);
    const from = Math.floor(random() * sentences.length);
    return sentences.slice(from, from + 1 + Math.floor(random() * 3)).join(' ').slice(0, 600);
  }
  const count = 1 + Math.floor(random() * 5);
  return corpus.slice(start, start + count).join('\n\n').slice(0, 4000);
}

export async function createUsers(sql: Sql, count: number, label: string): Promise<string[]> {
  // As GoTrue writes them: the id and the other columns are not defaulted by the table.
  const rows = await sql<{ id: string }[]>`
    insert into auth.users (instance_id, id, aud, role, email, email_confirmed_at, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
    select '00000000-0000-0000-0000-000000000000', gen_random_uuid(), 'authenticated', 'authenticated',
           ${label} || '-' || i || '-' || gen_random_uuid() || '@bench.test', now(),
           '{"provider": "email", "providers": ["email"]}', '{}', now(), now()
      from generate_series(1, ${count}::int) i
    returning id`;
  return rows.map((r) => r.id);
}

interface ConversationRow {
  id: string;
  user_id: string;
  title: string;
  metadata: postgres.JSONValue;
  created_at: Date;
}

interface MessageRow {
  id: string;
  conversation_id: string;
  user_id: string;
  role: string;
  content: string;
  metadata: postgres.JSONValue;
  model: string | null;
  tokens: number;
  duration_ms: number | null;
  created_at: Date;
}

export interface CreatedConversation {
  id: string;
  userId: string;
}

/**
 * Creates conversations with realistic messages (built in Node, inserted in
 * chunks), round-robin over the users. Returns them in creation order.
 */
export async function createRealisticConversations(
  sql: Sql,
  options: { users: string[]; count: number; messagesPerConversation: number; seed: number; corpus: string[] | null },
): Promise<CreatedConversation[]> {
  const random = prng(options.seed);
  const { corpus } = options;
  const created: CreatedConversation[] = [];
  const start = Date.now() - 30 * 24 * 3600 * 1000;
  const CHUNK = 100;
  for (let offset = 0; offset < options.count; offset += CHUNK) {
    const conversations: ConversationRow[] = [];
    const messages: MessageRow[] = [];
    for (let i = offset; i < Math.min(options.count, offset + CHUNK); i++) {
      const id = randomUUID();
      const userId = options.users[i % options.users.length]!;
      const createdAt = start + i * 1000;
      conversations.push({
        id,
        user_id: userId,
        title: sentence(random).slice(0, 60),
        metadata: { source: 'bench', model: 'gpt-4o-mini', tags: [word(random), word(random)] },
        created_at: new Date(createdAt),
      });
      for (let m = 0; m < options.messagesPerConversation; m++) {
        const assistant = m % 2 === 1;
        const content = corpus ? corpusText(corpus, random, assistant) : assistant ? assistantText(random) : userText(random);
        messages.push({
          id: randomUUID(),
          conversation_id: id,
          user_id: userId,
          role: assistant ? 'assistant' : 'user',
          content,
          metadata: assistant
            ? { finish_reason: 'stop', usage: { prompt_tokens: 200 + Math.floor(random() * 3000), completion_tokens: Math.ceil(content.length / 4) } }
            : {},
          model: assistant ? 'gpt-4o-mini' : null,
          tokens: Math.ceil(content.length / 4),
          duration_ms: assistant ? 300 + Math.floor(random() * 9000) : null,
          created_at: new Date(createdAt + m * 20_000),
        });
      }
      created.push({ id, userId });
    }
    await sql`insert into public.conversations ${sql(conversations)}`;
    for (let m = 0; m < messages.length; m += 1000) {
      await sql`insert into public.messages ${sql(messages.slice(m, m + 1000))}`;
    }
  }
  return created;
}

/** Bulk conversations made entirely in SQL with generate_series (fast), `perUser` per user. */
export async function createBulkConversations(
  sql: Sql,
  options: { users: string[]; perUser: number; messagesPerConversation: number },
): Promise<number> {
  let total = 0;
  for (const userId of options.users) {
    const [row] = await sql<{ count: number }[]>`
      with c as (
        insert into public.conversations (user_id, title, metadata, created_at)
        select ${userId}::uuid, 'Bulk conversation ' || i, jsonb_build_object('source', 'bench-bulk', 'n', i),
               now() - make_interval(secs => i)
          from generate_series(1, ${options.perUser}::int) i
        returning id
      ) select count(*)::int as count from c`;
    await sql`
      insert into public.messages (conversation_id, user_id, role, content, tokens, created_at)
      select c.id, c.user_id, case when j % 2 = 1 then 'user' else 'assistant' end,
             'Message ' || j || ' of ' || c.title || ': ' || repeat(md5(c.id::text || j), 3),
             40, c.created_at + make_interval(secs => j)
        from public.conversations c cross join generate_series(1, ${options.messagesPerConversation}::int) j
       where c.user_id = ${userId}::uuid`;
    total += row!.count;
  }
  return total;
}

/**
 * The archive document of a conversation, byte for byte as the worker builds
 * it (document.ts), except for archived_at. Read while the rows still exist.
 */
export async function buildDocuments(sql: Sql, ids: string[], archivedAt: string): Promise<Map<string, Buffer>> {
  const documents = new Map<string, Buffer>();
  const CHUNK = 200;
  for (let offset = 0; offset < ids.length; offset += CHUNK) {
    const chunk = ids.slice(offset, offset + CHUNK);
    const heads = await sql<{ id: string; conversation: string; user_id: string; email: string | null; message_count: number }[]>`
      select c.id, to_jsonb(c)::text as conversation, c.user_id, u.email,
             (select count(*)::int from public.messages m where m.conversation_id = c.id) as message_count
        from public.conversations c left join auth.users u on u.id = c.user_id
       where c.id = any(${chunk}::uuid[])`;
    const rows = await sql<{ conversation_id: string; j: string }[]>`
      select m.conversation_id, to_jsonb(m)::text as j from public.messages m
       where m.conversation_id = any(${chunk}::uuid[])
       order by m.conversation_id, m.created_at, m.id`;
    const byConversation = new Map<string, string[]>();
    for (const row of rows) {
      let list = byConversation.get(row.conversation_id);
      if (!list) byConversation.set(row.conversation_id, (list = []));
      list.push(row.j);
    }
    for (const head of heads) {
      const metadata = { archived_at: archivedAt, message_count: head.message_count, user_id: head.user_id, user_email: head.email };
      const text =
        `{"format_version":1,"conversation":${head.conversation},"messages":[` +
        (byConversation.get(head.id) ?? []).join(',') +
        `],"archive_metadata":${JSON.stringify(metadata)}}`;
      documents.set(head.id, Buffer.from(text, 'utf8'));
    }
  }
  return documents;
}
