// The processing job of an uploaded file: extract its text (PDF with unpdf,
// which runs in Deno and Node), count pages and words, guess the language,
// store the text as a derived object beside the file, and move the status
// through processing to processed (or failed, with the error, once retries
// are exhausted). A status change is a row update: downstream steps (e.g.
// embeddings) can hook on it with a trigger or a Database Webhook.
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { extractText, getDocumentProxy } from 'unpdf';
import type { S3Config } from '../config.ts';
import { sseParams } from '../s3/client.ts';
import { extractedTextKey } from '../s3/keys.ts';
import type { Sql } from '../db/client.ts';
import { countWords, detectLanguage } from './language.ts';
import { DOCUMENT_TYPES } from './types.ts';

type ConfiguredS3 = Extract<S3Config, { configured: true }>;


async function extract(contentType: string, bytes: Uint8Array): Promise<{ text: string; pages: number | null }> {
  if (contentType === 'application/pdf') {
    const pdf = await getDocumentProxy(bytes);
    const { totalPages, text } = await extractText(pdf, { mergePages: true });
    return { text: Array.isArray(text) ? text.join('\n') : text, pages: totalPages };
  }
  const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  if (contentType === 'application/json') {
    // The words of a JSON document are its string values.
    const strings: string[] = [];
    const walk = (value: unknown) => {
      if (typeof value === 'string') strings.push(value);
      else if (Array.isArray(value)) value.forEach(walk);
      else if (value && typeof value === 'object') Object.values(value).forEach(walk);
    };
    walk(JSON.parse(text));
    return { text: strings.join('\n'), pages: null };
  }
  return { text, pages: null };
}

export async function processFile(sql: Sql, s3: S3Client, config: ConfiguredS3, fileId: string): Promise<'processed' | 'skipped'> {
  const [file] = await sql<{ id: string; s3_key: string; content_type: string; status: string; deleted_at: Date | null }[]>`
    update public.files set status = 'processing', error = null
     where id = ${fileId} and deleted_at is null and status in ('uploaded', 'processing')
    returning id, s3_key, content_type, status, deleted_at`;
  if (!file) return 'skipped';
  const object = await s3.send(new GetObjectCommand({ Bucket: config.bucket, Key: file.s3_key }));
  const bytes = await object.Body!.transformToByteArray();
  const { text, pages } = await extract(file.content_type, bytes);
  await s3.send(
    new PutObjectCommand({
      Bucket: config.bucket,
      Key: extractedTextKey(file.s3_key),
      Body: text,
      ContentType: 'text/plain; charset=utf-8',
      ...sseParams(config),
    }),
  );
  await sql`
    update public.files
       set status = 'processed', page_count = ${pages}, word_count = ${countWords(text)},
           language = ${detectLanguage(text)}, document_type = ${DOCUMENT_TYPES[file.content_type] ?? 'other'},
           processed_at = now(), error = null
     where id = ${fileId} and deleted_at is null`;
  return 'processed';
}
