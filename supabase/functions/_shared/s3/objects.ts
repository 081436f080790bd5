// Object operations shared by the archive, erasure and verification code.
import {
  DeleteObjectsCommand,
  GetBucketVersioningCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { s3StatusOf } from './errors.ts';

export { describeS3Error } from './errors.ts';

/** True when the bucket keeps versions (then deleting means deleting every version). */
export async function isVersioned(s3: S3Client, bucket: string): Promise<boolean> {
  try {
    const result = await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }));
    return result.Status === 'Enabled' || result.Status === 'Suspended';
  } catch (error) {
    // S3-compatible servers without versioning (s3rver) answer NotImplemented.
    if (s3StatusOf(error) === 501 || (error as { name?: string }).name === 'NotImplemented') return false;
    throw error;
  }
}

export async function* listKeys(s3: S3Client, bucket: string, prefix: string): AsyncGenerator<{ key: string; size: number; lastModified?: Date }> {
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const object of page.Contents ?? []) {
      if (object.Key) yield { key: object.Key, size: object.Size ?? 0, lastModified: object.LastModified };
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}

/** Common prefixes one level below `prefix` (e.g. the years under analysis/). */
export async function listFolders(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const folders: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, Delimiter: '/', ContinuationToken: token }));
    for (const p of page.CommonPrefixes ?? []) if (p.Prefix) folders.push(p.Prefix);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return folders;
}

/** Deletes every object (every version, where versioned) under a prefix or with exactly a key. Returns how many. */
export async function deleteEverything(s3: S3Client, bucket: string, target: { prefix: string } | { key: string }): Promise<number> {
  const prefix = 'prefix' in target ? target.prefix : target.key;
  const matches = (key: string) => ('prefix' in target ? key.startsWith(target.prefix) : key === target.key);
  let deleted = 0;
  const flush = async (objects: Array<{ Key: string; VersionId?: string }>) => {
    if (objects.length === 0) return;
    const result = await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects, Quiet: true } }));
    if (result.Errors && result.Errors.length > 0) {
      throw new Error(`S3 refused to delete ${result.Errors.length} object(s): ${result.Errors[0]?.Code ?? 'unknown'}`);
    }
    deleted += objects.length;
  };

  if (await isVersioned(s3, bucket)) {
    let keyMarker: string | undefined;
    let versionMarker: string | undefined;
    do {
      const page = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: prefix, KeyMarker: keyMarker, VersionIdMarker: versionMarker }));
      const batch = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])]
        .filter((v) => v.Key && matches(v.Key))
        .map((v) => ({ Key: v.Key!, VersionId: v.VersionId }));
      for (let i = 0; i < batch.length; i += 1000) await flush(batch.slice(i, i + 1000));
      keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      versionMarker = page.IsTruncated ? page.NextVersionIdMarker : undefined;
    } while (keyMarker);
    return deleted;
  }

  let batch: Array<{ Key: string }> = [];
  for await (const object of listKeys(s3, bucket, prefix)) {
    if (!matches(object.key)) continue;
    batch.push({ Key: object.key });
    if (batch.length === 1000) {
      await flush(batch);
      batch = [];
    }
  }
  await flush(batch);
  return deleted;
}
