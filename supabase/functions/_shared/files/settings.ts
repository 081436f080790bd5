// Limits of the files and analyses APIs, from the environment.
import type { EnvGetter } from '../config.ts';
import { readInt } from '../settings.ts';
import { DOCUMENT_TYPES } from './types.ts';

export interface FileSettings {
  allowedTypes: string[];
  maxBytes: number;
  directMaxBytes: number;
  urlTtlSeconds: number;
  analysisMaxBytes: number;
}

export function readFileSettings(env: EnvGetter): FileSettings {
  const types = (env('FILES_ALLOWED_TYPES') ?? '').split(',').map((t) => t.trim().toLowerCase()).filter(Boolean);
  return {
    // Only types Strata can check and process.
    allowedTypes: (types.length ? types : Object.keys(DOCUMENT_TYPES)).filter((t) => t in DOCUMENT_TYPES),
    maxBytes: readInt(env, 'FILES_MAX_BYTES', 50 * 1024 * 1024, 1, 5 * 1024 * 1024 * 1024),
    directMaxBytes: readInt(env, 'FILES_DIRECT_MAX_BYTES', 5 * 1024 * 1024, 1, 50 * 1024 * 1024),
    // At most 12 hours: abandoned uploads are swept after a day, so no PUT can land after its folder is gone.
    urlTtlSeconds: readInt(env, 'FILES_URL_TTL_SECONDS', 3600, 60, 12 * 3600),
    analysisMaxBytes: readInt(env, 'ANALYSIS_MAX_BYTES', 5 * 1024 * 1024, 2, 100 * 1024 * 1024),
  };
}
