// Reads an archive object back and checks it against the sha256 recorded at
// archive time. A mismatch (or a missing object) is never handed on as a
// good document.
//
// The object is streamed (S3 body → gunzip, every member → sha256) so that memory stays
// bounded whatever the archive's size (an Edge Function instance has 256 MB):
// - up to `wholeMaxBytes` of JSON the document is read whole and verified
//   before anyone sees a byte, so a corrupt archive is a clean 422;
// - beyond that, the verified-so-far bytes and the rest are handed on as a
//   stream that is hashed as it passes; when the sha256 turns out wrong at
//   the end the stream errors (the client sees a broken transfer, never a
//   silently wrong document).
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createHash, type Hash } from 'node:crypto';
import { createGunzip } from 'node:zlib';
import type { EnvGetter } from '../config.ts';
import { AppError, errors } from '../http/errors.ts';
import { describeS3Error } from '../s3/objects.ts';
import { readInt } from '../settings.ts';

const MiB = 1024 * 1024;

export interface ArchiveReadSettings {
  /**
   * ARCHIVE_READ_VERIFY_MAX_BYTES (default 8 MiB): archives whose JSON is at
   * most this size are verified before the response starts (corrupt: 422
   * archive_corrupt); larger ones are streamed and a mismatch aborts the
   * transfer. The function holds at most this much JSON at once.
   */
  verifyBeforeSendMaxBytes: number;
  /**
   * ARCHIVE_RESTORE_MAX_BYTES (default 16 MiB, at most 32 MiB): the largest
   * archive the function restores, measured on the archived JSON (and on the
   * gzip object, which is known before downloading). Restore hands the whole
   * text to one SQL call, which costs about four times its size in the
   * function (chunks, string, the wire buffer); larger archives answer 413
   * payload_too_large and are restored with `npx strata archive restore`.
   */
  restoreMaxBytes: number;
}

export function readArchiveReadSettings(env: EnvGetter): ArchiveReadSettings {
  return {
    verifyBeforeSendMaxBytes: readInt(env, 'ARCHIVE_READ_VERIFY_MAX_BYTES', 8 * MiB, 0, 64 * MiB),
    restoreMaxBytes: readInt(env, 'ARCHIVE_RESTORE_MAX_BYTES', 16 * MiB, 0, 32 * MiB),
  };
}

export type ArchiveRead =
  /** The whole JSON, verified. */
  | { whole: true; chunks: Uint8Array[]; bytes: number }
  /** Larger than asked for: the JSON as a stream that errors if the sha256 is wrong at the end. */
  | { whole: false; stream: ReadableStream<Uint8Array> };

export interface ReadOptions {
  /** Read whole (and verify before returning) up to this many bytes of JSON; beyond, stream. */
  wholeMaxBytes: number;
  /** Deadline for the object's headers, and for each read of its body while we wait for S3. */
  timeoutMs?: number;
  log?: (message: string) => void;
}

/** A read of the S3 body failed (network, timeout): the store, not the archive, is at fault. */
class StorageReadError extends Error {
  override readonly name = 'StorageReadError' as const;
}

const toAppError = (error: unknown): AppError =>
  error instanceof StorageReadError ? errors.storageUnavailable() : error instanceof AppError ? error : errors.archiveCorrupt();

/** Opens the object: its body as a stream of raw (gzip) bytes, with read errors marked as the store's. */
async function openObject(s3: S3Client, bucket: string, key: string, timeoutMs: number, log: (message: string) => void): Promise<ReadableStream<Uint8Array>> {
  // Our own signal: the client's default per-call deadline would also cut a
  // long (but progressing) body read short.
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(new Error(`GetObject ${key} timed out`)), timeoutMs);
  let body: { transformToWebStream(): ReadableStream<Uint8Array> };
  try {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: abort.signal });
    body = object.Body as unknown as typeof body;
    if (!body) throw new Error('GetObject returned no body');
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    log(describeS3Error(`GetObject ${key}`, error));
    if (status === 404) throw errors.archiveCorrupt();
    throw errors.storageUnavailable();
  } finally {
    clearTimeout(timer);
  }
  const reader = body.transformToWebStream().getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let idle: ReturnType<typeof setTimeout> | undefined;
      try {
        const next = await Promise.race([
          reader.read(),
          new Promise<never>((_, reject) => {
            idle = setTimeout(() => reject(new Error(`no data for ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
        if (next.done) controller.close();
        else controller.enqueue(next.value);
      } catch (error) {
        log(`S3 GetObject ${key} failed while reading the body: ${error instanceof Error ? error.message : String(error)}`);
        abort.abort();
        reader.cancel().catch(() => undefined);
        controller.error(new StorageReadError(`reading ${key} failed`));
      } finally {
        clearTimeout(idle);
      }
    },
    cancel(reason) {
      abort.abort();
      return reader.cancel(reason).catch(() => undefined);
    },
  });
}

/**
 * gunzip as a web TransformStream. node:zlib rather than DecompressionStream:
 * multipart archives hold one gzip member per part, and Deno's
 * DecompressionStream stops at the end of the first member.
 */
function gunzipStream(): TransformStream<Uint8Array, Uint8Array> {
  const gunzip = createGunzip();
  let failure: unknown = null;
  return new TransformStream<Uint8Array, Uint8Array>({
    start(controller) {
      // The reader may have gone (the client hung up, or the reading stopped
      // at a size limit) while zlib still has output: drop it, never throw.
      gunzip.on('data', (chunk: Uint8Array) => {
        try {
          controller.enqueue(chunk);
        } catch {
          gunzip.destroy();
        }
      });
      gunzip.on('error', (error) => {
        failure ??= error;
        try {
          controller.error(error);
        } catch {
          // already closed or errored
        }
      });
    },
    transform(chunk) {
      return new Promise<void>((resolve, reject) => {
        if (failure) return reject(failure);
        gunzip.write(chunk, (error) => (error || failure ? reject(error ?? failure) : resolve()));
      });
    },
    flush() {
      return new Promise<void>((resolve, reject) => {
        if (failure) return reject(failure);
        gunzip.once('end', () => resolve());
        gunzip.once('error', reject);
        gunzip.end();
      });
    },
  });
}

/**
 * Reads the archive at `key`, checking it against `expectedSha256`. Errors
 * before anything is returned are AppErrors: archive_corrupt (missing
 * object, not gzip, wrong sha256) or storage_unavailable.
 */
export async function readArchive(
  s3: S3Client,
  bucket: string,
  key: string,
  expectedSha256: string,
  options: ReadOptions,
): Promise<ArchiveRead> {
  const log = options.log ?? console.error;
  const raw = await openObject(s3, bucket, key, options.timeoutMs ?? 30_000, log);
  const reader = raw.pipeThrough(gunzipStream()).getReader();
  const hash = createHash('sha256');
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  for (;;) {
    let next: ReadableStreamReadResult<Uint8Array>;
    try {
      next = await reader.read();
    } catch (error) {
      throw toAppError(error);
    }
    if (next.done) break;
    hash.update(next.value);
    chunks.push(next.value);
    bytes += next.value.byteLength;
    if (bytes > options.wholeMaxBytes) return { whole: false, stream: verifyingStream(reader, chunks, hash, expectedSha256, key, log) };
  }
  if (hash.digest('hex') !== expectedSha256) {
    log(`archive ${key} does not match its sha256`);
    throw errors.archiveCorrupt();
  }
  return { whole: true, chunks, bytes };
}

/** The chunks already read, then the rest; errors at the end when the sha256 is wrong. */
function verifyingStream(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  head: Uint8Array[],
  hash: Hash,
  expectedSha256: string,
  key: string,
  log: (message: string) => void,
): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of head.splice(0)) controller.enqueue(chunk);
    },
    async pull(controller) {
      try {
        const next = await reader.read();
        if (!next.done) {
          hash.update(next.value);
          controller.enqueue(next.value);
        } else if (hash.digest('hex') === expectedSha256) {
          controller.close();
        } else {
          log(`archive ${key} does not match its sha256: aborting the transfer`);
          controller.error(errors.archiveCorrupt());
        }
      } catch (error) {
        controller.error(toAppError(error));
      }
    },
    cancel(reason) {
      return reader.cancel(reason).catch(() => undefined);
    },
  });
}

/** The whole JSON as one buffer (a verified read). */
export function joinChunks(chunks: Uint8Array[], bytes: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(bytes);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

/** The whole JSON as text, releasing each chunk as it is decoded. */
export function decodeChunks(chunks: Uint8Array[]): string {
  // ignoreBOM: the text must stay byte for byte what was hashed.
  const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  const parts: string[] = [];
  for (let i = 0; i < chunks.length; i++) {
    parts.push(decoder.decode(chunks[i], { stream: true }));
    chunks[i] = new Uint8Array(0);
  }
  parts.push(decoder.decode());
  return parts.join('');
}
