// Files: the browser path of an upload (ask for a presigned URL, PUT the
// bytes straight to S3, complete), then the processing status, polled while
// a file waits or is being processed.
import type { FileRow, StrataClient } from '@strata/client';
import { poller } from './poll.ts';
import { act, byId, clock, h, showError } from './ui.ts';

/** Browsers leave `type` empty for some of these (e.g. Markdown). */
const TYPE_BY_EXTENSION: Record<string, string> = {
  pdf: 'application/pdf',
  txt: 'text/plain',
  md: 'text/markdown',
  csv: 'text/csv',
  json: 'application/json',
};
const LABELS: Record<string, string> = {
  pending_upload: 'Waiting for the upload',
  uploaded: 'Uploaded, waiting to be processed',
  processing: 'Processing…',
  processed: 'Processed',
  failed: 'Failed',
};
const IN_PROGRESS = new Set(['uploaded', 'processing']);

const sizeOf = (bytes: number) => (bytes < 1024 ? `${bytes} B` : bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KB` : `${(bytes / 1048576).toFixed(1)} MB`);

function detailsOf(file: FileRow): string {
  if (file.status === 'processed') {
    const parts = [
      file.page_count === null ? null : `${file.page_count} page${file.page_count === 1 ? '' : 's'}`,
      file.word_count === null ? null : `${file.word_count} word${file.word_count === 1 ? '' : 's'}`,
      file.language ? `language ${file.language}` : null,
    ].filter(Boolean);
    return parts.join(', ');
  }
  if (file.status === 'failed') return file.error ?? '';
  return sizeOf(file.size);
}

export interface FilesView {
  refresh(): void;
  reset(): void;
}

export function filesView(strata: StrataClient): FilesView {
  const form = byId<HTMLFormElement>('upload');
  const input = byId<HTMLInputElement>('file');
  const uploadStatus = byId('upload-status');
  const list = byId<HTMLUListElement>('file-list');

  function render(files: FileRow[]) {
    list.replaceChildren(
      ...files.map((f) =>
        h('li', { 'data-testid': 'file', 'data-id': f.id, 'data-status': f.status },
          h('span', { class: 'grow' }, f.original_name),
          h('span', { class: 'state', 'data-status': f.status, 'data-testid': 'file-state' }, LABELS[f.status] ?? f.status),
          h('span', { 'data-testid': 'file-details' }, detailsOf(f)),
        ),
      ),
    );
  }

  const poll = poller({
    check: async () => {
      const { files } = await strata.files.list({ limit: 20 });
      render(files);
      return files.some((f) => IN_PROGRESS.has(f.status)) ? 'in_progress' : 'settled';
    },
    everyMs: 1000,
    giveUpAfterMs: 60_000,
    onGiveUp: () => {
      uploadStatus.textContent = `Processing is taking more than a minute (last checked ${clock()}); reload the page to check again.`;
    },
    onError: showError,
  });

  async function upload(file: File) {
    const say = (step: string) => (uploadStatus.textContent = `Uploading ${file.name}: ${step}`);
    const extension = file.name.split('.').pop()?.toLowerCase() ?? '';
    const contentType = file.type || TYPE_BY_EXTENSION[extension] || 'application/octet-stream';
    try {
      say('asking for an upload URL…');
      const ticket = await strata.files.presign({ name: file.name, content_type: contentType, size: file.size });
      say(`sending ${sizeOf(file.size)} to storage…`);
      let put: Response;
      try {
        put = await fetch(ticket.upload.url, { method: 'PUT', headers: ticket.upload.headers, body: file });
      } catch (error) {
        throw new Error(`Could not send ${file.name} to storage (a network or CORS error): ${(error as Error).message}`);
      }
      if (!put.ok) throw new Error(`Storage refused ${file.name} (HTTP ${put.status}).`);
      say('checking the upload…');
      const { file: row } = await strata.files.complete(ticket.file.id);
      uploadStatus.textContent = `Uploaded ${row.original_name}; it is processed in the background.`;
    } catch (error) {
      uploadStatus.textContent = `The upload of ${file.name} failed.`;
      throw error;
    } finally {
      poll.start();
    }
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void act((event as SubmitEvent).submitter as HTMLButtonElement | null, async () => {
      const file = input.files?.[0];
      if (!file) throw new Error('Choose a file first.');
      await upload(file);
      form.reset();
    });
  });

  return {
    refresh: () => poll.start(),
    reset() {
      poll.stop();
      list.replaceChildren();
      uploadStatus.textContent = '';
    },
  };
}
