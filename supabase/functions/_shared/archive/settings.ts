// Settings of the archive jobs, from the environment.
import type { EnvGetter } from '../config.ts';
import { readInt } from '../settings.ts';

export interface ArchiveSettings {
  /** Conversations one worker archives at once. */
  concurrency: number;
  /** Above this estimated JSON size a conversation is streamed into a multipart upload. */
  streamAboveBytes: number;
  /** Multipart part size. */
  partBytes: number;
}

export function readArchiveSettings(env: EnvGetter): ArchiveSettings {
  return {
    concurrency: readInt(env, 'ARCHIVE_CONCURRENCY', 8, 1, 64),
    streamAboveBytes: readInt(env, 'ARCHIVE_STREAM_ABOVE_BYTES', 8 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    partBytes: readInt(env, 'ARCHIVE_PART_BYTES', 8 * 1024 * 1024, 5 * 1024 * 1024, 512 * 1024 * 1024),
  };
}
