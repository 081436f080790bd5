// The typed Strata client: the functions' HTTP API behind methods, on top of
// the app's own supabase-js client (so the signed-in user's token is sent).
//
//   const strata = createStrataClient(supabase);
//   const { conversation } = await strata.conversations.create({ title: 'Hi' });
//   await strata.conversations.addMessage(conversation.id, { role: 'user', content: 'Hello' });
import { StrataError } from './errors.ts';
import type {
  AnalysisCreated,
  AnalysisDeleteAccepted,
  AnalysisPage,
  AnalysisWithData,
  ArchiveDeleteAccepted,
  ArchiveDocument,
  ArchivePage,
  ArchiveRestored,
  ArchiveStatus,
  ConversationCleared,
  ConversationCreated,
  ConversationDeleteAccepted,
  ConversationExtended,
  ConversationHistory,
  ConversationPage,
  ConversationStats,
  Feedback,
  FileAnswer,
  FileDeleteAccepted,
  FilePage,
  FileStatus,
  FileWithDownload,
  FunctionsInvoker,
  MessageAnswer,
  NewConversation,
  NewMessage,
  NewUpload,
  UploadTicket,
} from './types.ts';

export * from './errors.ts';
export type * from './types.ts';

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

const query = (params: Record<string, string | number | undefined | null>) => {
  const entries = Object.entries(params).filter(([, v]) => v !== undefined && v !== null) as Array<[string, string | number]>;
  return entries.length ? `?${new URLSearchParams(entries.map(([k, v]) => [k, String(v)])).toString()}` : '';
};

/** The Strata API over `supabase` (any supabase-js 2.x client, or anything with its `functions.invoke`). */
export function createStrataClient(supabase: FunctionsInvoker) {
  async function call<T>(path: string, method: Method, body?: unknown): Promise<T> {
    const { data, error } = await supabase.functions.invoke(path, {
      method,
      ...(body === undefined ? {} : { body: body as Record<string, unknown> }),
    });
    if (!error) return data as T;
    const response = (error as { context?: Response }).context;
    if (response && typeof response.json === 'function') {
      const payload = (await response.json().catch(() => null)) as
        | { error?: { code: string; message: string; details?: unknown }; code?: string; message?: string }
        | null;
      if (payload?.error) throw new StrataError(payload.error.code, payload.error.message, response.status, payload.error.details);
      // The runtime's own answers (546 WORKER_RESOURCE_LIMIT, 503 BOOT_ERROR) are { code, message }.
      if (typeof payload?.code === 'string' && typeof payload.message === 'string') throw new StrataError(payload.code, payload.message, response.status);
      throw new StrataError('http_error', `The function answered ${response.status}.`, response.status);
    }
    throw new StrataError('network_error', (error as Error).message, 0);
  }

  return {
    conversations: {
      create: (input: NewConversation = {}) => call<ConversationCreated>('conversations', 'POST', input),
      list: (options: { limit?: number; cursor?: string } = {}) =>
        call<ConversationPage>(`conversations${query(options)}`, 'GET'),
      get: (id: string, options: { limit?: number; before?: string } = {}) =>
        call<ConversationHistory>(`conversations/${id}${query(options)}`, 'GET'),
      addMessage: (id: string, message: NewMessage) => call<MessageAnswer>(`conversations/${id}/messages`, 'POST', message),
      setFeedback: (id: string, messageId: string, feedback: Feedback | null) =>
        call<MessageAnswer>(`conversations/${id}/messages/${messageId}`, 'PATCH', { feedback }),
      clear: (id: string) => call<ConversationCleared>(`conversations/${id}/clear`, 'POST'),
      extend: (id: string, hours: number) => call<ConversationExtended>(`conversations/${id}/extend`, 'POST', { hours }),
      export: (id: string) => call<ArchiveDocument>(`conversations/${id}/export`, 'GET'),
      delete: (id: string) => call<ConversationDeleteAccepted>(`conversations/${id}`, 'DELETE'),
      stats: () => call<ConversationStats>('conversations/stats', 'GET'),
    },
    archive: {
      status: () => call<ArchiveStatus>('archive/status', 'GET'),
      list: (options: { limit?: number; cursor?: string } = {}) =>
        call<ArchivePage>(`archive/conversations${query(options)}`, 'GET'),
      get: (id: string) => call<ArchiveDocument>(`archive/conversations/${id}`, 'GET'),
      restore: (id: string) => call<ArchiveRestored>(`archive/conversations/${id}/restore`, 'POST'),
      delete: (id: string) => call<ArchiveDeleteAccepted>(`archive/conversations/${id}`, 'DELETE'),
    },
    files: {
      /** Presign, PUT the bytes straight to S3, then complete: one call for the whole upload. */
      upload: async (file: Blob, name: string, options: { sha256?: string } = {}): Promise<FileAnswer> => {
        const ticket = await call<UploadTicket>('files', 'POST', { name, content_type: file.type, size: file.size, ...options });
        const put = await fetch(ticket.upload.url, { method: 'PUT', headers: ticket.upload.headers, body: file });
        if (!put.ok) throw new StrataError('upload_failed', `S3 refused the upload (HTTP ${put.status}).`, put.status);
        return call<FileAnswer>(`files/${ticket.file.id}/complete`, 'POST');
      },
      presign: (input: NewUpload) => call<UploadTicket>('files', 'POST', input),
      complete: (id: string) => call<FileAnswer>(`files/${id}/complete`, 'POST'),
      list: (options: { limit?: number; cursor?: string; status?: FileStatus } = {}) =>
        call<FilePage>(`files${query(options)}`, 'GET'),
      get: (id: string) => call<FileWithDownload>(`files/${id}`, 'GET'),
      delete: (id: string) => call<FileDeleteAccepted>(`files/${id}`, 'DELETE'),
    },
    analyses: {
      create: <T>(input: { kind: string; conversation_id?: string | null; data: T }) => call<AnalysisCreated>('analyses', 'POST', input),
      get: <T = unknown>(id: string) => call<AnalysisWithData<T>>(`analyses/${id}`, 'GET'),
      list: (options: { limit?: number; cursor?: string; kind?: string; conversation_id?: string } = {}) =>
        call<AnalysisPage>(`analyses${query(options)}`, 'GET'),
      delete: (id: string) => call<AnalysisDeleteAccepted>(`analyses/${id}`, 'DELETE'),
    },
  };
}

export type StrataClient = ReturnType<typeof createStrataClient>;
