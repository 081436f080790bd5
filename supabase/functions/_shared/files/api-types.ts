// The response bodies of the files API, declared once: api.ts checks its
// answers against them (`satisfies`) and the typed client (packages/client)
// exports them. Types only, on the generated database types.
import type { Tables } from '../database.types.ts';

/** A files row as the API answers it (`size` as a number). */
export type FileRow = Tables<'files'>;
export type FileStatus = 'pending_upload' | 'uploaded' | 'processing' | 'processed' | 'failed';

/** `POST /files` `{ name, content_type, size, sha256? }` */
export interface NewUpload {
  name: string;
  content_type: string;
  size: number;
  sha256?: string;
}

/** 201 to `POST /files`: the pending row and where to PUT the bytes. */
export interface UploadTicket {
  file: FileRow;
  upload: { method: 'PUT'; url: string; headers: Record<string, string>; expires_at: string };
}

/** `POST /files/{id}/complete`; 201 to a direct (multipart) `POST /files` */
export interface FileAnswer {
  file: FileRow;
}

/** `GET /files?limit=&cursor=&status=` */
export interface FilePage {
  files: FileRow[];
  next_cursor: string | null;
}

/** `GET /files/{id}`: a download URL once the bytes are stored. */
export interface FileWithDownload {
  file: FileRow;
  download: { url: string; expires_at: string } | null;
}

/** 202 to `DELETE /files/{id}` */
export interface FileDeleteAccepted {
  file_id: string;
  status: 'deleting';
}
