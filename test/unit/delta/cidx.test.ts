import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BadInputError } from '../../../dsl/core/errors.js';
import { CIDX_VERSION, decodeIndex, encodeIndex, segmentOffsets, type ChunkIndex } from '../../../dsl/delta/cidx.js';

/* The .cidx codec: what it writes it reads back, byte for byte as docs/delta.md describes; anything else is refused. */

const sha = (s: string): Buffer => createHash('sha256').update(s).digest();

/** An index of three segments whose lengths add up (head 10, tail 10). */
function sample(hashLen = 32): ChunkIndex {
  const segments = [
    { ulen: 40000, clen: 12000, hash: sha('a') },
    { ulen: 70000, clen: 30000, hash: sha('b') },
    { ulen: 5, clen: 7, hash: sha('c') },
  ];
  return {
    chunker: { min: 32768, avg: 65536, max: 262144, gear: 1 },
    compressor: 'deflate-6/zlib-1.3.1',
    hashLen,
    fileSha256: sha('file'),
    fileSize: 10 + 12000 + 30000 + 7 + 10,
    head: Buffer.from('1f8b0800000000000003', 'hex'),
    tail: Buffer.from('0300aabbccdd07750000', 'hex'),
    segments,
  };
}

describe('cidx', () => {
  it('decodes what it encodes, with full and shortened hashes', () => {
    for (const hashLen of [32, 16, 8]) {
      const idx = sample(hashLen);
      const bytes = encodeIndex(idx);
      const back = decodeIndex(bytes);
      expect(back).toEqual({ ...idx, segments: idx.segments.map((s) => ({ ...s, hash: s.hash.subarray(0, hashLen) })) });
      expect(encodeIndex(back).equals(bytes)).toBe(true);
    }
  });

  it('writes the layout docs/delta.md describes', () => {
    const idx = sample(32);
    const b = encodeIndex(idx);
    expect(b.toString('latin1', 0, 4)).toBe('CIDX');
    expect(b[4]).toBe(CIDX_VERSION);
    expect(b[5]).toBe(32);
    expect([b.readUInt32BE(8), b.readUInt32BE(12), b.readUInt32BE(16), b[20]]).toEqual([32768, 65536, 262144, 1]);
    expect(b[24]).toBe(idx.compressor.length);
    const at = 25 + idx.compressor.length;
    expect(b.subarray(at, at + 32)).toEqual(idx.fileSha256);
    expect(Number(b.readBigUInt64BE(at + 32))).toBe(idx.fileSize);
    expect(b.length).toBe(at + 40 + 2 + 10 + 2 + 10 + 4 + 3 * 40);
    const table = b.length - 3 * 40;
    expect(b.readUInt32BE(table - 4)).toBe(3);
    expect([b.readUInt32BE(table), b.readUInt32BE(table + 4)]).toEqual([40000, 12000]);
    expect(b.subarray(table + 8, table + 40)).toEqual(sha('a'));
  });

  it('gives each segment its offset in the file', () => {
    expect(segmentOffsets(sample())).toEqual([10, 12010, 42010]);
  });

  it('refuses a damaged or inconsistent index with one clear error', () => {
    const good = encodeIndex(sample());
    const cases: [string, Buffer, RegExp][] = [
      ['magic', Buffer.concat([Buffer.from('XIDX'), good.subarray(4)]), /bad magic/],
      ['version', Buffer.from(good).fill(9, 4, 5), /version 9/],
      ['hash length', Buffer.from(good).fill(40, 5, 6), /hash length 40/],
      ['truncated', good.subarray(0, 60), /truncated/],
      ['table', good.subarray(0, good.length - 1), /segment table length/],
      ['trailing bytes', Buffer.concat([good, Buffer.alloc(40)]), /segment table length/],
      ['sizes', (() => { const b = Buffer.from(good); b.writeBigUInt64BE(1n, 25 + 20 + 32); return b; })(), /add up/],
      ['empty segment', (() => { const b = Buffer.from(good); b.writeUInt32BE(0, b.length - 2 * 40 + 4); return b; })(), /segment 1 is empty/],
    ];
    for (const [what, bytes, re] of cases) {
      let err: unknown;
      try {
        decodeIndex(bytes, 'image.tar.gz.cidx');
      } catch (e) {
        err = e;
      }
      expect(err, what).toBeInstanceOf(BadInputError);
      expect((err as Error).message, what).toMatch(re);
      expect((err as Error).message, what).toMatch(/^image\.tar\.gz\.cidx: not a valid chunk index/);
    }
  });

  it('refuses to encode an index it could not read back', () => {
    const idx = sample(32);
    expect(() => encodeIndex({ ...idx, segments: [{ ...idx.segments[0], hash: Buffer.alloc(16) }, ...idx.segments.slice(1)] })).toThrow(RangeError);
    expect(() => encodeIndex({ ...idx, fileSize: idx.fileSize + 1 })).toThrow(/add up/);
    expect(() => encodeIndex({ ...idx, hashLen: 4 })).toThrow(RangeError);
    expect(() => encodeIndex({ ...idx, compressor: 'x'.repeat(300) })).toThrow(RangeError);
  });
});
