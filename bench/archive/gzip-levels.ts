// gzip levels by measurement, on the benchmark's own text, the two ways the
// worker compresses: the buffered path (archive/upload.ts: one gzipSync of a
// small conversation's whole JSON) and the multipart path
// (archive/multipart.ts: a createGzip stream per part, written a batch of
// messages at a time with a Z_SYNC_FLUSH after each batch). CPU is
// process.cpuUsage() (user + system, every thread: the streamed path
// compresses on libuv's thread pool) around the compression alone; the
// median of a few rounds, levels taken in a rotating order so a drifting load
// spreads over all of them.
import { constants as zlib, createGzip, gzipSync } from 'node:zlib';

export interface LevelResult {
  level: number;
  inputBytes: number;
  outputBytes: number;
  /** output / input */
  ratio: number;
  /** CPU ms per MiB of input (median of the rounds). */
  cpuMsPerMiB: number;
  /** Wall ms per MiB of input (median of the rounds). */
  wallMsPerMiB: number;
}

const cpuNow = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** The buffered path: one gzipSync per document. */
export function gzipBuffered(documents: Uint8Array[], level: number): number {
  let out = 0;
  for (const document of documents) out += gzipSync(document, { level }).length;
  return out;
}

/** The multipart path: one gzip stream, a Z_SYNC_FLUSH after every batch (as buildPart does). */
export async function gzipStreamed(batches: Uint8Array[], level: number): Promise<number> {
  let out = 0;
  const gzip = createGzip({ level });
  gzip.on('data', (chunk: Buffer) => (out += chunk.length));
  const ended = new Promise<void>((resolve, reject) => gzip.once('end', resolve).once('error', reject));
  for (const batch of batches) {
    if (!gzip.write(batch)) await new Promise((resolve) => gzip.once('drain', resolve));
    await new Promise<void>((resolve) => gzip.flush(zlib.Z_SYNC_FLUSH, () => resolve()));
  }
  gzip.end();
  await ended;
  return out;
}

export async function measureLevels(
  inputs: Uint8Array[],
  compress: (inputs: Uint8Array[], level: number) => number | Promise<number>,
  levels: number[] = [1, 6, 9],
  rounds = 5,
): Promise<LevelResult[]> {
  const inputBytes = inputs.reduce((a, b) => a + b.length, 0);
  const mib = inputBytes / 1024 / 1024;
  const cpu = new Map<number, number[]>(levels.map((l) => [l, []]));
  const wall = new Map<number, number[]>(levels.map((l) => [l, []]));
  const output = new Map<number, number>();
  await compress(inputs.slice(0, 20), levels[0]!); // warm-up
  for (let round = 0; round < rounds; round++) {
    const order = levels.map((_, i) => levels[(i + round) % levels.length]!);
    for (const level of order) {
      const cpu0 = cpuNow();
      const wall0 = performance.now();
      const bytes = await compress(inputs, level);
      cpu.get(level)!.push(cpuNow() - cpu0);
      wall.get(level)!.push(performance.now() - wall0);
      output.set(level, bytes);
    }
  }
  return levels.map((level) => ({
    level,
    inputBytes,
    outputBytes: output.get(level)!,
    ratio: output.get(level)! / inputBytes,
    cpuMsPerMiB: median(cpu.get(level)!) / mib,
    wallMsPerMiB: median(wall.get(level)!) / mib,
  }));
}
