// The resumable SHA-256 matches node:crypto for every length around the block
// boundaries, however the input is split and saved/resumed between pieces.
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ResumableSha256 } from '../../supabase/functions/_shared/archive/sha256.ts';

const reference = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

describe('ResumableSha256', () => {
  it.each([0, 1, 3, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000, 4096 + 17])('hashes %i bytes like node:crypto', (n) => {
    const data = randomBytes(n);
    expect(new ResumableSha256().update(data).hex()).toBe(reference(data));
  });

  it('gives the same digest when the input is split into pieces and the state is saved and restored between them', () => {
    const data = randomBytes(100_003);
    let hash = new ResumableSha256();
    let offset = 0;
    for (const size of [1, 63, 64, 65, 5000, 7, 30_000, 0, 64_803]) {
      hash.update(data.subarray(offset, offset + size));
      offset += size;
      hash = new ResumableSha256(JSON.parse(JSON.stringify(hash.save())));
    }
    expect(offset).toBe(data.length);
    expect(hash.hex()).toBe(reference(data));
  });

  it('hex() does not finish the hash: more data may follow', () => {
    const hash = new ResumableSha256().update(Buffer.from('abc'));
    expect(hash.hex()).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    hash.update(Buffer.from('def'));
    expect(hash.hex()).toBe(reference(Buffer.from('abcdef')));
  });
});
