// The archive: conversations deleted here are archived to S3 by the stack's
// job queue, so they show up first as pending, then archiving, then archived.
// The list is polled (every second, for at most a minute) while anything is
// on its way, and each entry says where it is. An archived one can be restored.
import type { ArchivedConversation, StrataClient } from '@strata/client';
import { titleOf } from './conversations.ts';
import { poller } from './poll.ts';
import { act, byId, clock, h, showError } from './ui.ts';

const LABELS: Record<string, string> = {
  pending: 'Waiting to be archived',
  archiving: 'Archiving…',
  stored: 'Archived',
  failed: 'Archiving failed',
  deleting: 'Being deleted',
};
const IN_PROGRESS = new Set(['pending', 'archiving', 'deleting']);

export interface ArchiveView {
  /** Checks now, and keeps checking while anything is in progress. */
  refresh(): void;
  /** A conversation was just deleted: wait until it is archived. */
  watch(conversationId: string): void;
  reset(): void;
}

export function archiveView(strata: StrataClient, hooks: { onRestored(conversationId: string): Promise<void> }): ArchiveView {
  const list = byId<HTMLUListElement>('archive-list');
  const status = byId('archive-status');
  const refreshButton = byId<HTMLButtonElement>('archive-refresh');
  /** Deleted from this page and not yet archived (or failed). */
  const awaited = new Set<string>();

  function render(archives: ArchivedConversation[]) {
    list.replaceChildren(
      ...archives.map((a) =>
        h('li', { 'data-testid': 'archived', 'data-id': a.conversation_id, 'data-status': a.status },
          h('span', { class: 'grow' }, titleOf(a)),
          h('span', { class: 'state', 'data-status': a.status, 'data-testid': 'archive-state' }, LABELS[a.status] ?? a.status),
          a.message_count === null ? null : h('span', {}, `${a.message_count} message${a.message_count === 1 ? '' : 's'}`),
          a.status === 'failed' && a.last_error ? h('span', { class: 'meta' }, `Last error: ${a.last_error}`) : null,
          h('button', {
            type: 'button',
            'aria-label': `Restore “${titleOf(a)}”`,
            disabled: a.status !== 'stored',
            onclick: (e) => void act(e.currentTarget as HTMLButtonElement, () => restore(a)),
          }, 'Restore'),
        ),
      ),
    );
  }

  async function check(): Promise<'settled' | 'in_progress'> {
    const { archives } = await strata.archive.list({ limit: 50 });
    for (const a of archives) if (a.status === 'stored' || a.status === 'failed') awaited.delete(a.conversation_id);
    render(archives);
    const moving = archives.filter((a) => IN_PROGRESS.has(a.status)).length;
    const unseen = [...awaited].filter((id) => !archives.some((a) => a.conversation_id === id)).length;
    if (moving + unseen > 0) {
      status.textContent = `${moving + unseen} in progress: checking every second (last checked ${clock()}).`;
      return 'in_progress';
    }
    status.textContent = `${archives.length ? 'Up to date' : 'Nothing archived'} (checked ${clock()}).`;
    return 'settled';
  }

  const poll = poller({
    check,
    everyMs: 1000,
    giveUpAfterMs: 60_000,
    onGiveUp: () => {
      status.textContent = `Still in progress after a minute (last checked ${clock()}). Press Refresh to check again.`;
    },
    onError: showError,
  });

  async function restore(archived: ArchivedConversation) {
    const restored = await strata.archive.restore(archived.conversation_id);
    await check();
    status.textContent = `Restored “${titleOf(archived)}” with ${restored.message_count} message${restored.message_count === 1 ? '' : 's'}.`;
    await hooks.onRestored(archived.conversation_id);
  }

  refreshButton.addEventListener('click', () => poll.start());

  return {
    refresh: () => poll.start(),
    watch(conversationId) {
      awaited.add(conversationId);
      poll.start();
    },
    reset() {
      poll.stop();
      awaited.clear();
      list.replaceChildren();
      status.textContent = '';
    },
  };
}
