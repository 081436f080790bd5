// The conversation list, the open conversation's history (paged back with
// "Show earlier messages"), sending messages and feedback on each message.
import type { Conversation, Feedback, Message, MessageRole, StrataClient } from '@strata/client';
import { act, byId, h } from './ui.ts';

type Listed = Conversation & { message_count: number };

const PAGE = 20;
export const titleOf = (conversation: { title: string | null }) => conversation.title?.trim() || 'Untitled';
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

export interface ConversationsView {
  refresh(): Promise<void>;
  open(id: string): Promise<void>;
  /** Back from the archive: listed again and opened. */
  restored(id: string): Promise<void>;
  reset(): void;
}

export function conversationsView(strata: StrataClient, hooks: { onDeleted(id: string): void }): ConversationsView {
  const list = byId<HTMLUListElement>('conversation-list');
  const status = byId('conversations-status');
  const newForm = byId<HTMLFormElement>('new-conversation');
  const titleInput = byId<HTMLInputElement>('title');
  const chatTitle = byId('chat-title');
  const messages = byId<HTMLOListElement>('messages');
  const earlier = byId<HTMLButtonElement>('earlier');
  const sendForm = byId<HTMLFormElement>('send');
  const role = byId<HTMLSelectElement>('role');
  const content = byId<HTMLTextAreaElement>('content');
  let conversations: Listed[] = [];
  let openId: string | null = null;
  let beforeCursor: string | null = null;

  function renderList() {
    list.replaceChildren(
      ...conversations.map((c) =>
        h('li', { 'data-testid': 'conversation', 'data-id': c.id },
          h('button', { type: 'button', class: 'grow open', 'aria-current': c.id === openId ? 'true' : undefined, onclick: (e) => void act(e.currentTarget as HTMLButtonElement, () => open(c.id)) }, titleOf(c)),
          h('span', { 'data-testid': 'message-count' }, plural(c.message_count, 'message')),
          h('button', { type: 'button', 'aria-label': `Delete “${titleOf(c)}”`, onclick: (e) => void act(e.currentTarget as HTMLButtonElement, () => remove(c)) }, 'Delete'),
        ),
      ),
    );
    if (!conversations.length && !status.textContent) status.textContent = 'No conversations yet.';
  }

  function fillMessage(item: HTMLElement, message: Message) {
    const feedback = message.feedback as Feedback | null;
    const choice = (value: Feedback, label: string) =>
      h('button', {
        type: 'button',
        'aria-pressed': String(feedback === value),
        onclick: (e) => void act(e.currentTarget as HTMLButtonElement, async () => {
          // Pressing the chosen one again clears the feedback.
          const { message: updated } = await strata.conversations.setFeedback(message.conversation_id, message.id, feedback === value ? null : value);
          fillMessage(item, updated);
        }),
      }, label);
    item.dataset.feedback = feedback ?? 'none';
    item.replaceChildren(
      h('p', { class: 'meta' }, h('strong', {}, message.role), ` · ${new Date(message.created_at).toLocaleString()}`),
      h('p', { class: 'content', 'data-testid': 'message-content' }, message.content),
      h('div', { class: 'feedback', role: 'group', 'aria-label': 'Feedback' },
        choice('positive', 'Helpful'),
        choice('negative', 'Not helpful'),
        h('span', { 'data-testid': 'feedback' }, feedback === 'positive' ? 'Feedback: helpful' : feedback === 'negative' ? 'Feedback: not helpful' : 'No feedback'),
      ),
    );
  }

  function messageItem(message: Message): HTMLElement {
    const item = h('li', { 'data-testid': 'message', 'data-id': message.id, 'data-role': message.role });
    fillMessage(item, message);
    return item;
  }

  function close() {
    openId = null;
    beforeCursor = null;
    chatTitle.textContent = 'No conversation open';
    messages.replaceChildren();
    earlier.hidden = true;
    sendForm.hidden = true;
  }

  async function refresh() {
    ({ conversations } = await strata.conversations.list({ limit: 50 }));
    renderList();
  }

  async function open(id: string) {
    const page = await strata.conversations.get(id, { limit: PAGE });
    openId = id;
    beforeCursor = page.before_cursor;
    chatTitle.textContent = titleOf(page.conversation);
    messages.replaceChildren(...page.messages.map(messageItem));
    earlier.hidden = !beforeCursor;
    sendForm.hidden = false;
    renderList();
  }

  async function remove(conversation: Listed) {
    await strata.conversations.delete(conversation.id);
    if (openId === conversation.id) close();
    status.textContent = `Deleted “${titleOf(conversation)}”: it is archived in the background (see Archive).`;
    hooks.onDeleted(conversation.id);
    await refresh();
  }

  newForm.addEventListener('submit', (event) => {
    event.preventDefault();
    void act((event as SubmitEvent).submitter as HTMLButtonElement | null, async () => {
      const { conversation } = await strata.conversations.create({ title: titleInput.value.trim() || null });
      titleInput.value = '';
      status.textContent = `Created “${titleOf(conversation)}”.`;
      await refresh();
      await open(conversation.id);
    });
  });

  sendForm.addEventListener('submit', (event) => {
    event.preventDefault();
    void act((event as SubmitEvent).submitter as HTMLButtonElement | null, async () => {
      if (!openId || !content.value.trim()) return;
      const { message } = await strata.conversations.addMessage(openId, { role: role.value as MessageRole, content: content.value });
      messages.append(messageItem(message));
      content.value = '';
      await refresh();
    });
  });

  earlier.addEventListener('click', () =>
    void act(earlier, async () => {
      if (!openId || !beforeCursor) return;
      const page = await strata.conversations.get(openId, { limit: PAGE, before: beforeCursor });
      beforeCursor = page.before_cursor;
      messages.prepend(...page.messages.map(messageItem));
      earlier.hidden = !beforeCursor;
    }),
  );

  return {
    refresh,
    open,
    async restored(id) {
      await refresh();
      await open(id);
      status.textContent = `Restored “${chatTitle.textContent}” from the archive.`;
    },
    reset() {
      conversations = [];
      status.textContent = '';
      close();
      list.replaceChildren();
    },
  };
}
