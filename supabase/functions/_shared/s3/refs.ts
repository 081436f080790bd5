// Stored references to objects come in several shapes (from the seeds and
// from older deployments). They are parsed here, and only here, into a key of
// the configured bucket: `s3://bucket/key` URLs, bare keys, and legacy
// analysis paths without the folder prefix ("2025/01/{user}/{id}.json").
export class InvalidReferenceError extends Error {
  override readonly name = 'InvalidReferenceError' as const;
}

const KNOWN_ROOTS = ['archived_conversations/', 'files/', 'analysis/'];

export function normalizeStoredRef(ref: string, config: { bucket: string; prefix: string }): string {
  let key = ref.trim();
  const url = /^s3:\/\/([^/]+)\/(.+)$/.exec(key);
  if (url) {
    if (url[1] !== config.bucket) throw new InvalidReferenceError(`reference is in bucket ${url[1]}, not ${config.bucket}`);
    key = url[2]!;
  }
  key = key.replace(/^\/+/, '');
  if (key.split('/').some((segment) => segment === '..' || segment === '.' || segment === '')) {
    throw new InvalidReferenceError('reference has empty, "." or ".." segments');
  }
  if (/[\u0000-\u001f\u007f]/.test(key)) throw new InvalidReferenceError('reference has control characters');
  const withoutPrefix = config.prefix && key.startsWith(`${config.prefix}/`) ? key.slice(config.prefix.length + 1) : key;
  let relative = withoutPrefix;
  if (!KNOWN_ROOTS.some((root) => relative.startsWith(root))) {
    // Legacy analysis paths were stored without their folder.
    if (/^\d{4}\/\d{2}\/[0-9a-f-]{36}\/[^/]+\.json$/.test(relative)) relative = `analysis/${relative}`;
    else throw new InvalidReferenceError('reference is not under a Strata folder');
  }
  return config.prefix ? `${config.prefix}/${relative}` : relative;
}
