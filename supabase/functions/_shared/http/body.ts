// Reads a request body with a size cap, before any parsing: too large is 413
// (also for chunked bodies without a Content-Length), not JSON or nested too
// deep is 400, and nothing larger than the cap is ever buffered.
import { errors } from './errors.ts';
import { MAX_BODY_DEPTH, textNestedDeeperThan } from './json-depth.ts';

/** The raw body, refused (413) as soon as it passes maxBytes, with or without a Content-Length. */
export async function readBodyBytes(request: Request, maxBytes: number): Promise<Uint8Array<ArrayBuffer>> {
  const declared = Number(request.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    if (request.body) await discardRest(request.body.getReader());
    throw errors.payloadTooLarge(`The request body is larger than ${maxBytes} bytes.`);
  }
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await discardRest(reader);
      throw errors.payloadTooLarge(`The request body is larger than ${maxBytes} bytes.`);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

// A server that answers without reading the body closes a connection with
// unread bytes, and the peer's TCP reset can destroy the 413 before the
// client reads it (seen as EPIPE / "fetch failed"). Moderately large bodies
// are therefore read to the end and dropped, within bounds: past
// DISCARD_MAX_BYTES, or DISCARD_MAX_MS for a client that sends slowly, the
// stream is cancelled, as reading on would cost more than the answer is worth.
const DISCARD_MAX_BYTES = 32 * 1024 * 1024;
const DISCARD_MAX_MS = 2000;

async function discardRest(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
  let dropped = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), DISCARD_MAX_MS);
  });
  try {
    for (;;) {
      const next = await Promise.race([reader.read(), timedOut]);
      if (next === 'timeout') break;
      if (next.done) return;
      dropped += next.value.byteLength;
      if (dropped > DISCARD_MAX_BYTES) break;
    }
  } catch {
    return; // the client went away: nothing left to drop
  } finally {
    clearTimeout(timer);
  }
  await reader.cancel().catch(() => undefined);
}

/**
 * The body parsed as JSON: not UTF-8 or not JSON is 400 invalid_json; nested
 * deeper than MAX_BODY_DEPTH is 400 invalid_request, refused on the text
 * before parsing, so no deeper value reaches a handler (http/json-depth.ts).
 */
export async function readJsonBody(request: Request, maxBytes: number): Promise<unknown> {
  const bytes = await readBodyBytes(request, maxBytes);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw errors.invalidJson();
  }
  if (textNestedDeeperThan(text, MAX_BODY_DEPTH)) {
    throw errors.invalidRequest(`The request body is nested deeper than ${MAX_BODY_DEPTH} levels of objects and arrays.`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw errors.invalidJson();
  }
}
