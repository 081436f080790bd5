// The SQL the `conversations` function runs, copied from
// supabase/functions/_shared/conversations/api.ts (GET /:id and GET / without
// a cursor, POST /:id/messages), with postgres.js's interpolations written as
// $n; checked against the source at start so a change there shows. Also the
// claims a request runs with.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/cli/project.ts';

export const SQL_VISIBLE = 'select to_jsonb(c) as row from public.conversations c where c.id = $1';
export const SQL_HISTORY = `select to_jsonb(m) as row from public.messages m
           where m.conversation_id = $1
             and true
           order by m.created_at desc, m.id desc
           limit $2`;
export const SQL_LIST = `select to_jsonb(c) as row,
               (select count(*)::int from public.messages m where m.conversation_id = c.id) as message_count
          from public.conversations c
         where true
         order by c.updated_at desc, c.id desc
         limit $1`;
export const SQL_APPEND = `insert into public.messages (conversation_id, role, content, metadata, feedback, model, tokens, duration_ms)
          values ($1, $2, $3, $4, $5, $6, $7, $8)
          returning to_jsonb(messages) as row`;
/** Not in api.ts (it has no title endpoint): what PostgREST runs for PATCH /rest/v1/conversations?id=eq.… */
export const SQL_TITLE = 'update public.conversations set title = $1 where id = $2';
export const HISTORY_MODE = 'isolation level repeatable read read only';
export const HISTORY_LIMIT = 10 + 1;
export const LIST_LIMIT = 20 + 1;

/** The pieces of api.ts the SQL above copies (whitespace-insensitive); returns those not found. */
export function checkSqlMatchesFunction(): string[] {
  const source = readFileSync(path.join(PROJECT_ROOT, 'supabase/functions/_shared/conversations/api.ts'), 'utf8');
  const squash = (s: string) => s.replace(/\s+/g, ' ');
  const haystack = squash(source);
  const pieces = [
    'select to_jsonb(c) as row from public.conversations c where c.id = ${id}`',
    'select to_jsonb(m) as row from public.messages m where m.conversation_id = ${id} and ${older ?',
    ": tx`true`} order by m.created_at desc, m.id desc limit ${limit + 1}`",
    "}, 'isolation level repeatable read read only');",
    'select to_jsonb(c) as row, (select count(*)::int from public.messages m where m.conversation_id = c.id) as message_count from public.conversations c where ${after ?',
    ": tx`true`} order by c.updated_at desc, c.id desc limit ${limit + 1}`",
    'insert into public.messages (conversation_id, role, content, metadata, feedback, model, tokens, duration_ms) values (${id}, ${input.role}, ${input.content},',
    'returning to_jsonb(messages) as row`',
    'await visibleConversation(tx, id); const [created] =',
  ];
  return pieces.filter((piece) => !haystack.includes(squash(piece)));
}

const content = 'Could you summarise the main points of the last answer in three short bullet points, please? Keep the numbers.';
/** The parameters of SQL_APPEND: a user message numbered `i` to conversation `id`. */
export const appendParams = (id: string, i: number) => [id, 'user', `${content} (#${i})`, {}, null, null, null, null];

/** A conversation and its owner. */
export type Conv = { id: string; user_id: string };

/** GoTrue-shaped claims of a user of the stack at `apiUrl`, as asUser sets them. */
export const claimsFor = (apiUrl: string) => (userId: string) => ({
  aud: 'authenticated',
  iss: `${apiUrl}/auth/v1`,
  sub: userId,
  email: `${userId.slice(0, 8)}@history-bench.example`,
  role: 'authenticated',
  aal: 'aal1',
  is_anonymous: false,
  iat: Math.floor(Date.now() / 1000),
  exp: Math.floor(Date.now() / 1000) + 3600,
});
export type ClaimsOf = ReturnType<typeof claimsFor>;

/** Thrown inside a transaction to roll it back after reading what it did. */
export class Rollback extends Error {}
