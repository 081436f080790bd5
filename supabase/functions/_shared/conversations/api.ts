// The conversations API (function `conversations`, user JWT). Every request
// runs its SQL as the caller (role authenticated, request.jwt.claims), so RLS
// decides what exists; the service role only reads project-wide stats.
import { callerOf, requireUser } from '../auth/caller.ts';
import { readPlatformConfig, type EnvGetter } from '../config.ts';
import { asUser, type Tx } from '../db/as-user.ts';
import { createSql, type Sql } from '../db/client.ts';
import { isUuid } from '../ids.ts';
import { readJsonBody } from '../http/body.ts';
import { errors } from '../http/errors.ts';
import { json } from '../http/respond.ts';
import { Router } from '../http/router.ts';
import { withHttp, type Handler } from '../http/serve.ts';
import { parseOr400 } from '../http/validate.ts';
import { decodeCursor, encodeCursor } from '../http/cursor.ts';
import type {
  Conversation,
  ConversationCleared,
  ConversationCreated,
  ConversationDeleteAccepted,
  ConversationExtended,
  ConversationHistory,
  ConversationPage,
  Message,
  MessageAnswer,
} from './api-types.ts';
import { exportConversation } from './export.ts';
import { readConversationLimits } from './limits.ts';
import { oversize, schemas } from './schemas.ts';

export function createConversationsHandler(env: EnvGetter, deps: { sql?: Sql } = {}): Handler {
  const platform = readPlatformConfig(env);
  const limits = readConversationLimits(env);
  const schema = schemas(limits);
  const sql = deps.sql ?? createSql(platform.dbUrl ?? '', { applicationName: 'strata-conversations' });
  // Bodies carry at most one message: content, metadata and some JSON around them.
  const maxBody = limits.maxContentBytes * 6 + limits.maxMetadataBytes + 16 * 1024;

  const uuidParam = (value: string | undefined, what: string) => {
    if (!isUuid(value)) throw errors.invalidId(what);
    return value.toLowerCase();
  };
  const query = (url: URL) => Object.fromEntries(url.searchParams);
  const body = (request: Request) => readJsonBody(request, maxBody);

  /** The caller's live conversation, or 404 (missing, another user's, deleted or expired). */
  const visibleConversation = async (tx: Tx, id: string): Promise<Conversation> => {
    const [row] = await tx<{ row: Conversation }[]>`select to_jsonb(c) as row from public.conversations c where c.id = ${id}`;
    if (!row) throw errors.notFound('Conversation');
    return row.row;
  };

  const router = new Router('conversations')
    .on('POST', '/', async (request) => {
      const caller = requireUser(request);
      const input = parseOr400(schema.createConversation, await body(request), 'conversation');
      const tooBig = oversize(limits, { metadata: input.metadata });
      if (tooBig) throw errors.payloadTooLarge(`The conversation ${tooBig}.`);
      const row = await asUser(sql, caller.claims, async (tx) => {
        const [created] = await tx<{ row: Conversation }[]>`
          insert into public.conversations (title, metadata, expires_at)
          values (${input.title ?? null}, ${tx.json((input.metadata ?? {}) as never)},
                  ${input.ttl_hours ? tx`now() + make_interval(hours => ${input.ttl_hours})` : null})
          returning to_jsonb(conversations) as row`;
        return created!.row;
      });
      return json({ conversation: { ...row, message_count: 0 } } satisfies ConversationCreated, 201);
    })
    .on('GET', '/', async (request, _params, url) => {
      const caller = requireUser(request);
      const { limit, cursor } = parseOr400(schema.listQuery, query(url), 'query');
      const after = cursor ? decodeCursor(cursor) : null;
      const rows = await asUser(sql, caller.claims, (tx) => tx<{ row: Conversation; message_count: number }[]>`
        select to_jsonb(c) as row,
               (select count(*)::int from public.messages m where m.conversation_id = c.id) as message_count
          from public.conversations c
         where ${after ? tx`(c.updated_at, c.id) < (${after[0]}::text::timestamptz, ${after[1]}::uuid)` : tx`true`}
         order by c.updated_at desc, c.id desc
         limit ${limit + 1}`);
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      return json({
        conversations: page.map((r) => ({ ...r.row, message_count: r.message_count })),
        next_cursor: rows.length > limit && last ? encodeCursor(last.row.updated_at as string, last.row.id) : null,
      } satisfies ConversationPage);
    })
    .on('GET', '/stats', async (request) => {
      const caller = callerOf(request, { service: platform });
      if (caller.kind === 'service') {
        const [row] = await sql`select private.project_conversation_stats() as stats`;
        return json({ scope: 'project', ...(row!.stats as object) });
      }
      const stats = await asUser(sql, caller.claims, async (tx) => (await tx`select public.conversation_stats() as stats`)[0]!.stats);
      return json({ scope: 'user', ...(stats as object) });
    })
    .on('GET', '/:id', async (request, params, url) => {
      const caller = requireUser(request);
      const id = uuidParam(params.id, 'conversation id');
      const { limit, before } = parseOr400(schema.historyQuery, query(url), 'query');
      const older = before ? decodeCursor(before, 'before cursor') : null;
      return asUser(sql, caller.claims, async (tx) => {
        const conversation = await visibleConversation(tx, id);
        const rows = await tx<{ row: Message }[]>`
          select to_jsonb(m) as row from public.messages m
           where m.conversation_id = ${id}
             and ${older ? tx`(m.created_at, m.id) < (${older[0]}::text::timestamptz, ${older[1]}::uuid)` : tx`true`}
           order by m.created_at desc, m.id desc
           limit ${limit + 1}`;
        const page = rows.slice(0, limit).reverse();
        const oldest = page[0];
        return json({
          conversation,
          messages: page.map((r) => r.row),
          before_cursor: rows.length > limit && oldest ? encodeCursor(oldest.row.created_at as string, oldest.row.id) : null,
        } satisfies ConversationHistory);
      }, 'isolation level repeatable read read only');
    })
    .on('POST', '/:id/messages', async (request, params) => {
      const caller = requireUser(request);
      const id = uuidParam(params.id, 'conversation id');
      const input = parseOr400(schema.addMessage, await body(request), 'message');
      const tooBig = oversize(limits, input);
      if (tooBig) throw errors.payloadTooLarge(`The message ${tooBig}.`);
      const row = await asUser(sql, caller.claims, async (tx) => {
        await visibleConversation(tx, id);
        const [created] = await tx<{ row: Message }[]>`
          insert into public.messages (conversation_id, role, content, metadata, feedback, model, tokens, duration_ms)
          values (${id}, ${input.role}, ${input.content}, ${tx.json((input.metadata ?? {}) as never)}, ${input.feedback ?? null},
                  ${input.model ?? null}, ${input.tokens ?? null}, ${input.duration_ms ?? null})
          returning to_jsonb(messages) as row`;
        return created!.row;
      });
      return json({ message: row } satisfies MessageAnswer, 201);
    })
    .on('PATCH', '/:id/messages/:message_id', async (request, params) => {
      const caller = requireUser(request);
      const id = uuidParam(params.id, 'conversation id');
      const messageId = uuidParam(params.message_id, 'message id');
      const input = parseOr400(schema.feedback, await body(request), 'feedback');
      const row = await asUser(sql, caller.claims, async (tx) => {
        await visibleConversation(tx, id);
        const [updated] = await tx<{ row: Message }[]>`
          update public.messages set feedback = ${input.feedback}
           where id = ${messageId} and conversation_id = ${id}
          returning to_jsonb(messages) as row`;
        if (!updated) throw errors.notFound('Message');
        return updated.row;
      });
      return json({ message: row } satisfies MessageAnswer);
    })
    .on('POST', '/:id/clear', async (request, params) => {
      const caller = requireUser(request);
      const id = uuidParam(params.id, 'conversation id');
      const deleted = await asUser(sql, caller.claims, async (tx) => {
        await visibleConversation(tx, id);
        return (await tx`delete from public.messages where conversation_id = ${id}`).count;
      });
      return json({ conversation_id: id, deleted_messages: deleted } satisfies ConversationCleared);
    })
    .on('POST', '/:id/extend', async (request, params) => {
      const caller = requireUser(request);
      const id = uuidParam(params.id, 'conversation id');
      const input = parseOr400(schema.extend, await body(request), 'extension');
      const expiresAt = await asUser(sql, caller.claims, async (tx) => {
        await visibleConversation(tx, id);
        const [row] = await tx<{ expires_at: string }[]>`
          update public.conversations
             set expires_at = greatest(coalesce(expires_at, now()), now()) + make_interval(hours => ${input.hours})
           where id = ${id}
          returning to_jsonb(expires_at) #>> '{}' as expires_at`;
        // A DELETE that committed while this update waited leaves no row to extend.
        if (!row) throw errors.notFound('Conversation');
        return row.expires_at;
      });
      return json({ conversation_id: id, expires_at: expiresAt } satisfies ConversationExtended);
    })
    .on('GET', '/:id/export', async (request, params) => {
      const caller = requireUser(request);
      const id = uuidParam(params.id, 'conversation id');
      const email = typeof caller.claims.email === 'string' && caller.claims.email ? caller.claims.email : null;
      // Streamed from one read-only snapshot (see export.ts): memory stays bounded whatever the size.
      const stream = await exportConversation(sql, caller.claims, id, email);
      if (stream === null) throw errors.notFound('Conversation');
      return new Response(stream, {
        status: 200,
        headers: {
          'content-type': 'application/json; charset=utf-8',
          'content-disposition': `attachment; filename="conversation-${id}.json"`,
          'access-control-allow-origin': '*',
        },
      });
    })
    .on('DELETE', '/:id', async (request, params) => {
      const caller = requireUser(request);
      const id = uuidParam(params.id, 'conversation id');
      const state = await asUser(sql, caller.claims, async (tx) => {
        await visibleConversation(tx, id);
        // Becomes a pending archive (see the archive migration); the row goes once S3 has it.
        await tx`delete from public.conversations where id = ${id}`;
        const [archive] = await tx<{ status: string; deleted_at: string }[]>`
          select status, to_jsonb(deleted_at) #>> '{}' as deleted_at from public.archived_conversations where conversation_id = ${id}`;
        return archive;
      });
      return json({ conversation_id: id, status: state?.status ?? 'deleted', deleted_at: state?.deleted_at ?? null } satisfies ConversationDeleteAccepted, 202);
    });

  return withHttp((request) => router.handle(request));
}
