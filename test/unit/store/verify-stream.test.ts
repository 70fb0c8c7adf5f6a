import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BadInputError } from '../../../dsl/core/errors.js';
import { verified } from '../../../dsl/store/verify-stream.js';
import { readAll, sha } from '../../kit/images.js';

const data = Buffer.from('the quick brown fox jumps over the lazy dog');
const chunks = (b: Buffer) => Readable.from([b.subarray(0, 10), b.subarray(10)]);

describe('verified streams', () => {
  it('pass through content that matches', async () => {
    expect((await readAll(verified(chunks(data), { digest: sha(data), size: data.length }))).equals(data)).toBe(true);
  });
  it.each<[string, Buffer, RegExp]>([
    ['a flipped byte', Buffer.from(data).fill(0x41, 5, 6), /does not match its digest/],
    ['a missing tail', data.subarray(0, 20), /has 20 bytes, its descriptor says/],
    ['extra bytes', Buffer.concat([data, Buffer.from('!')]), /larger than/],
  ])('error on %s', async (_what, got, msg) => {
    const s = verified(chunks(got), { digest: sha(data), size: data.length });
    const err = await readAll(s).catch((e) => e);
    expect(err).toBeInstanceOf(BadInputError);
    expect(err.message).toMatch(msg);
  });
  it('pass on an error of the source', async () => {
    const src = new Readable({ read() { this.destroy(new Error('disk on fire')); } });
    await expect(readAll(verified(src, { digest: sha(data), size: data.length }))).rejects.toThrow('disk on fire');
  });
  it('refuse an invalid digest up front', () => {
    expect(() => verified(chunks(data), { digest: 'sha256:../x', size: 1 })).toThrow(BadInputError);
  });
});
