// The typed client over a real supabase-js client, against the real stack:
// what a frontend does, end to end; and its public types.
import { createClient } from '@supabase/supabase-js';
import WebSocket from 'ws';
import { describe, expect, expectTypeOf, inject, it } from 'vitest';
import { createStrataClient, isStrataError, StrataError, type Conversation, type Message } from '../packages/client/src/index.ts';
import { tokenFor, waitForArchived } from './helpers/archive.ts';
import { connect, createUser } from './helpers/db.ts';

const stack = inject('stack');

function clientFor(token: string) {
  const supabase = createClient(stack.apiUrl, stack.anonKey, {
    auth: { persistSession: false, autoRefreshToken: false },
    // Node 20 has no WebSocket of its own (browsers do); supabase-js wants one for Realtime.
    realtime: { transport: WebSocket as never },
    global: { headers: { Authorization: `Bearer ${token}` } },
  });
  return createStrataClient(supabase);
}

describe('typed client with supabase-js', () => {
  it('chats, deletes, lists the archive and restores, as a frontend would', async () => {
    const sql = connect({ max: 1 });
    try {
      const user = await createUser(sql, 'client');
      const strata = clientFor(tokenFor(user));
      const { conversation } = await strata.conversations.create({ title: 'From the browser', metadata: { source: 'web' } });
      await strata.conversations.addMessage(conversation.id, { role: 'user', content: 'Hello' });
      const { message } = await strata.conversations.addMessage(conversation.id, { role: 'assistant', content: 'Hi!', model: 'm', tokens: 3 });
      await strata.conversations.setFeedback(conversation.id, message.id, 'positive');
      const history = await strata.conversations.get(conversation.id);
      expect(history.messages.map((m) => [m.role, m.content, m.feedback])).toEqual([['user', 'Hello', null], ['assistant', 'Hi!', 'positive']]);

      expect((await strata.conversations.delete(conversation.id)).conversation_id).toBe(conversation.id);
      await waitForArchived(sql, [conversation.id]);
      const { archives } = await strata.archive.list();
      expect(archives.map((a) => a.conversation_id)).toContain(conversation.id);
      expect((await strata.archive.get(conversation.id)).messages).toHaveLength(2);
      expect(await strata.archive.restore(conversation.id)).toEqual({ conversation_id: conversation.id, message_count: 2, restored: true });

      const file = new Blob(['plain words for the file'], { type: 'text/plain' });
      const uploaded = await strata.files.upload(file, 'notes.txt');
      expect(uploaded.file.status).toBe('uploaded');
    } finally {
      await sql.end();
    }
  });

  it('turns API errors into StrataError with the status and the stable code', async () => {
    const strata = clientFor(tokenFor({ id: crypto.randomUUID() }));
    const error = await strata.conversations.get('not-a-uuid').catch((e) => e);
    expect(isStrataError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'invalid_id', status: 400 });
    const missing = await strata.archive.get(crypto.randomUUID()).catch((e) => e);
    expect(missing).toMatchObject({ name: 'StrataError', code: 'not_found', status: 404 });
  });

  it('has typed results', () => {
    const strata = clientFor('token');
    expectTypeOf(strata.conversations.get).returns.resolves.toMatchTypeOf<{ conversation: Conversation; messages: Message[] }>();
    expectTypeOf<Parameters<typeof strata.conversations.addMessage>[1]['role']>().toEqualTypeOf<'user' | 'assistant' | 'system' | 'tool'>();
    expectTypeOf<Message['feedback']>().toEqualTypeOf<string | null>();
    expectTypeOf(new StrataError('x', 'y', 400)).toHaveProperty('code').toEqualTypeOf<string>();
  });
});
