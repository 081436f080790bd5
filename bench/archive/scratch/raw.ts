import { mkdtemp, rm } from 'node:fs/promises';
import { randomBytes, randomUUID, createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { startS3 } from '../../../src/dev/s3.ts';
const dir = await mkdtemp(path.join(tmpdir(), 'scratch-s3-'));
const s3h = await startS3({ directory: dir, port: 0 || 45999, bucket: 'b', log: () => {} });
const s3 = new S3Client({ endpoint: s3h.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }, requestChecksumCalculation: 'WHEN_REQUIRED' });
const body = randomBytes(3200); const md5 = createHash('md5').update(body).digest('base64'); const users = Array.from({length: 8}, () => randomUUID());
for (const c of [1, 2, 4, 8, 16, 32]) {
  const N = 1000; let next = 0; const t = performance.now();
  await Promise.all(Array.from({ length: c }, async () => { while (next < N) { const i = next++; await s3.send(new PutObjectCommand({ Bucket: 'b', Key: `c${c}/archived_conversations/${users[i % 8]}/${randomUUID()}.json.gz`, Body: body, ContentType: 'application/json', ContentEncoding: 'gzip', ContentMD5: md5, Metadata: { sha256: 'x'.repeat(64), 'conversation-id': randomUUID() } })); } }));
  console.log(`concurrency ${c}: ${(N / ((performance.now() - t) / 1000)).toFixed(0)}/s`);
}
s3.destroy(); await s3h.stop(); await rm(dir, { recursive: true, force: true });
