// ListObjectsV2 continuation tokens for s3rver without DES.
//
// s3rver 3.7.1 encrypts its continuation tokens with single DES
// (lib/controllers/bucket.js), which Node's OpenSSL 3 refuses
// (ERR_OSSL_EVP_UNSUPPORTED): every listing that needs a second page (over
// 1,000 keys) answered 500. A Koa middleware placed just before s3rver's
// router takes the token off s3rver's hands:
// - on the way in, our token (the bucket and the page's last key, base64url)
//   becomes start-after, from which s3rver pages exactly as from its own token;
//   authentication does not look at either parameter;
// - the store tells the controller "not truncated", so it never builds a DES
//   token, and on the way out the middleware writes IsTruncated and our token.
//
// Why not s3rver in a child process with --openssl-legacy-provider: the tests
// stop and start it in this process to inject S3 outages (S3Handle), and
// bench/files counts its requests through this process's diagnostics channel;
// both would need another process model. This keeps s3rver's API and process.
// It relies on s3rver's internals (pinned to 3.7.1 in package.json): the
// middleware layout is checked when the server is built, the paging by
// tests/files/large-listing.test.ts.
import type S3rver from 's3rver';

interface ListResult {
  objects: Array<{ key: string }>;
  isTruncated: boolean;
}
interface Store {
  listObjects(bucket: string, options: unknown): Promise<ListResult>;
}
interface Context {
  method: string;
  path: string;
  query: Record<string, string | string[] | undefined>;
  store: Store;
  status: number;
  body: unknown;
}
type Middleware = (ctx: Context, next: () => Promise<void>) => Promise<void>;

const TAG = 'strata-v1:';

export function encodeContinuationToken(bucket: string, lastKey: string): string {
  return Buffer.from(`${TAG}${bucket}/${lastKey}`, 'utf8').toString('base64url');
}

/** The key to list after, or null when this server did not issue the token (or issued it for another bucket). */
export function decodeContinuationToken(token: string, bucket: string): string | null {
  const text = Buffer.from(token, 'base64url').toString('utf8');
  const head = `${TAG}${bucket}/`;
  return text.startsWith(head) && text.length > head.length ? text.slice(head.length) : null;
}

function continuationTokens(): Middleware {
  return async (ctx, next) => {
    // GET /{bucket}?list-type=2 (path-style; s3rver runs with vhostBuckets off).
    const bucket = /^\/([^/]+)\/?$/.exec(ctx.path)?.[1];
    if (ctx.method !== 'GET' || !bucket || ctx.query['list-type'] !== '2') return next();

    const token = ctx.query['continuation-token'];
    // s3rver treats an empty token as none.
    if (typeof token === 'string' && token !== '') {
      const startAfter = decodeContinuationToken(token, bucket);
      if (startAfter === null) {
        ctx.status = 400;
        ctx.body = { Error: { Code: 'InvalidArgument', Message: 'The continuation token provided is incorrect', ArgumentName: 'continuation-token' } };
        return;
      }
      const { 'continuation-token': _, ...rest } = ctx.query;
      ctx.query = { ...rest, 'start-after': startAfter };
    }

    const store = ctx.store;
    let lastKey: string | undefined;
    ctx.store = Object.assign(Object.create(store) as Store, {
      async listObjects(name: string, options: unknown): Promise<ListResult> {
        const result = await store.listObjects(name, options);
        if (!result.isTruncated) return result;
        lastKey = result.objects.at(-1)?.key;
        return { ...result, isTruncated: false };
      },
    });
    await next();

    // The controller's plain object, before s3rver's XML middleware renders it.
    const listing = (ctx.body as { ListBucketResult?: Record<string, unknown> } | null)?.ListBucketResult;
    if (!listing) return;
    if (typeof token === 'string' && token !== '') {
      listing.ContinuationToken = token;
      listing.StartAfter = undefined;
    }
    if (lastKey !== undefined) {
      listing.IsTruncated = true;
      listing.NextContinuationToken = encodeContinuationToken(bucket, lastKey);
    }
  };
}

/** Puts the middleware just before s3rver's router (after its XML rendering). Call before run(). */
export function useContinuationTokens(server: S3rver): void {
  const stack = server.middleware;
  // @koa/router's routes() middleware carries its router.
  const router = stack.at(-1);
  if (typeof router !== 'function' || typeof (router as { router?: unknown }).router !== 'object') {
    throw new Error("s3rver's middleware is not laid out as 3.7.1's (router last): check src/dev/s3rver-tokens.ts against the installed s3rver");
  }
  stack.splice(stack.length - 1, 0, continuationTokens());
}
