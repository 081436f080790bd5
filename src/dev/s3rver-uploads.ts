// Multipart uploads that end, as on S3.
//
// s3rver 3.7.1 has no AbortMultipartUpload (DELETE ?uploadId answers 405),
// and an UploadPart or CompleteMultipartUpload naming an upload that does
// not exist writes into a new folder or fails with a 500, where S3 answers
// 404 NoSuchUpload. Strata must meet that answer here as it will on S3: a
// bucket's lifecycle rule aborts incomplete uploads after some days, and an
// archive resumed after that must start its upload again. A Koa middleware
// placed just before s3rver's router (like s3rver-tokens.ts) answers abort,
// and refuses parts and completions of uploads that are gone.
import { rm, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type S3rver from 's3rver';

interface Context {
  method: string;
  path: string;
  query: Record<string, string | string[] | undefined>;
  status: number;
  body: unknown;
}
type Middleware = (ctx: Context, next: () => Promise<void>) => Promise<void>;
interface Store {
  getResourcePath(bucket: string, key: string | undefined, resource: string): string;
}

const S3Error = createRequire(import.meta.url)('s3rver/lib/models/error.js') as new (
  code: string,
  message: string,
  detail?: Record<string, string>,
) => Error;

function multipartUploads(store: Store): Middleware {
  return async (ctx, next) => {
    const uploadId = ctx.query.uploadId;
    const match = /^\/([^/]+)\/(.+)$/.exec(ctx.path);
    if (typeof uploadId !== 'string' || !match) return next();
    const [, bucket, encodedKey] = match as unknown as [string, string, string];
    const gone = () =>
      new S3Error('NoSuchUpload', 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.', { UploadId: uploadId });

    // s3rver's upload ids are hex; anything else names no upload (and no path).
    if (!/^[0-9a-f]+$/.test(uploadId)) throw gone();
    const folder = path.join(store.getResourcePath(bucket, undefined, 'uploads'), uploadId);
    const key = await readFile(path.join(folder, 'key'), 'utf8').catch(() => null);
    if (key === null || key !== decodeURIComponent(encodedKey)) throw gone();
    if (ctx.method === 'DELETE') {
      await rm(folder, { recursive: true, force: true });
      ctx.status = 204;
      ctx.body = '';
      return;
    }
    return next();
  };
}

/** Puts the middleware just before s3rver's router. Call before run(). */
export function useMultipartUploads(server: S3rver): void {
  const stack = server.middleware;
  const store = (server as unknown as { store: Store }).store;
  const router = stack.at(-1);
  if (typeof router !== 'function' || typeof (router as { router?: unknown }).router !== 'object' || !store) {
    throw new Error("s3rver's middleware is not laid out as 3.7.1's (router last): check src/dev/s3rver-uploads.ts against the installed s3rver");
  }
  stack.splice(stack.length - 1, 0, multipartUploads(store));
}
