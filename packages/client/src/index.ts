// The typed Strata client: the functions' HTTP API behind methods, on top of
// the app's own supabase-js client (so the signed-in user's token is sent).
//
//   const strata = createStrataClient(supabase);
//   const { conversation } = await strata.conversations.create({ title: 'Hi' });
//   await strata.conversations.addMessage(conversation.id, { role: 'user', content: 'Hello' });
import { StrataError } from './errors.js';
import type {
  Analysis,
  ArchiveDocument,
  ArchivedConversation,
  ArchiveStatus,
  Conversation,
  ConversationStats,
  Feedback,
  FileRow,
  FileStatus,
  Message,
  NewConversation,
  NewMessage,
  UploadTicket,
} from './types.js';

export * from './errors.js';
export type * from './types.js';

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

const query = (params: Record<string, string | number | undefined | null>) => {
  const entries = Object.entries(params).filter(([, v]) => v !== undefined && v !== null) as Array<[string, string | number]>;
  return entries.length ? `?${new URLSearchParams(entries.map(([k, v]) => [k, String(v)])).toString()}` : '';
};

/**
 * What the client needs of a supabase-js client: `functions.invoke`. Declared
 * here rather than taken from supabase-js's SupabaseClient class, whose
 * protected members make one version's client unassignable to another's
 * types; any supabase-js 2.x client from 2.10 on fits.
 */
export interface SupabaseFunctionsClient {
  functions: {
    invoke(
      functionName: string,
      options?: { method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'; body?: Record<string, unknown> },
    ): Promise<{ data: unknown; error: unknown }>;
  };
}

export function createStrataClient(supabase: SupabaseFunctionsClient) {
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
      create: (input: NewConversation = {}) => call<{ conversation: Conversation & { message_count: number } }>('conversations', 'POST', input),
      list: (options: { limit?: number; cursor?: string } = {}) =>
        call<{ conversations: Array<Conversation & { message_count: number }>; next_cursor: string | null }>(`conversations${query(options)}`, 'GET'),
      get: (id: string, options: { limit?: number; before?: string } = {}) =>
        call<{ conversation: Conversation; messages: Message[]; before_cursor: string | null }>(`conversations/${id}${query(options)}`, 'GET'),
      addMessage: (id: string, message: NewMessage) => call<{ message: Message }>(`conversations/${id}/messages`, 'POST', message),
      setFeedback: (id: string, messageId: string, feedback: Feedback | null) =>
        call<{ message: Message }>(`conversations/${id}/messages/${messageId}`, 'PATCH', { feedback }),
      clear: (id: string) => call<{ conversation_id: string; deleted_messages: number }>(`conversations/${id}/clear`, 'POST'),
      extend: (id: string, hours: number) => call<{ conversation_id: string; expires_at: string }>(`conversations/${id}/extend`, 'POST', { hours }),
      export: (id: string) => call<ArchiveDocument>(`conversations/${id}/export`, 'GET'),
      delete: (id: string) => call<{ conversation_id: string; status: string; deleted_at: string | null }>(`conversations/${id}`, 'DELETE'),
      stats: () => call<ConversationStats>('conversations/stats', 'GET'),
    },
    archive: {
      status: () => call<ArchiveStatus>('archive/status', 'GET'),
      list: (options: { limit?: number; cursor?: string } = {}) =>
        call<{ archives: ArchivedConversation[]; next_cursor: string | null }>(`archive/conversations${query(options)}`, 'GET'),
      get: (id: string) => call<ArchiveDocument>(`archive/conversations/${id}`, 'GET'),
      restore: (id: string) => call<{ conversation_id: string; message_count: number; restored: true }>(`archive/conversations/${id}/restore`, 'POST'),
      delete: (id: string) => call<{ conversation_id: string; deleted: true; status: 'deleting' }>(`archive/conversations/${id}`, 'DELETE'),
    },
    files: {
      /** Presign, PUT the bytes straight to S3, then complete: one call for the whole upload. */
      upload: async (file: Blob, name: string, options: { sha256?: string } = {}): Promise<{ file: FileRow }> => {
        const ticket = await call<UploadTicket>('files', 'POST', { name, content_type: file.type, size: file.size, ...options });
        const put = await fetch(ticket.upload.url, { method: 'PUT', headers: ticket.upload.headers, body: file });
        if (!put.ok) throw new StrataError('upload_failed', `S3 refused the upload (HTTP ${put.status}).`, put.status);
        return call<{ file: FileRow }>(`files/${ticket.file.id}/complete`, 'POST');
      },
      presign: (input: { name: string; content_type: string; size: number; sha256?: string }) => call<UploadTicket>('files', 'POST', input),
      complete: (id: string) => call<{ file: FileRow }>(`files/${id}/complete`, 'POST'),
      list: (options: { limit?: number; cursor?: string; status?: FileStatus } = {}) =>
        call<{ files: FileRow[]; next_cursor: string | null }>(`files${query(options)}`, 'GET'),
      get: (id: string) => call<{ file: FileRow; download: { url: string; expires_at: string } | null }>(`files/${id}`, 'GET'),
      delete: (id: string) => call<{ file_id: string; status: 'deleting' }>(`files/${id}`, 'DELETE'),
    },
    analyses: {
      create: <T>(input: { kind: string; conversation_id?: string | null; data: T }) => call<{ analysis: Analysis }>('analyses', 'POST', input),
      get: <T = unknown>(id: string) => call<{ analysis: Analysis; data: T }>(`analyses/${id}`, 'GET'),
      list: (options: { limit?: number; cursor?: string; kind?: string; conversation_id?: string } = {}) =>
        call<{ analyses: Analysis[]; next_cursor: string | null }>(`analyses${query(options)}`, 'GET'),
      delete: (id: string) => call<{ analysis_id: string; status: 'deleting' }>(`analyses/${id}`, 'DELETE'),
    },
  };
}

export type StrataClient = ReturnType<typeof createStrataClient>;
