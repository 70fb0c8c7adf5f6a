import { createHash } from 'node:crypto';
import { constants, deflateRawSync, gzipSync } from 'node:zlib';
import { encodeIndex, type Segment } from '../../dsl/delta/cidx.js';

/*
 * Chunked gzip files for the fetch tests, built independently of cairn's compressor: content-defined cut
 * points (a gear rolling hash), each segment raw-deflated on its own and ended byte-aligned (a full flush),
 * the segments between a gzip header and a final empty block + CRC-32 + ISIZE: one valid gzip member,
 * with its .cidx index (encodeIndex).
 */

/** A gear table from a fixed seed (xorshift32), so cut points are the same in every run. */
const GEAR = (() => {
  const t = new Uint32Array(256);
  let x = 0x9e3779b9;
  for (let i = 0; i < 256; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    t[i] = x >>> 0;
  }
  return t;
})();

/** Chunking bounds (uncompressed bytes). */
export interface CutParams {
  min: number;
  avg: number;
  max: number;
}

/** Default bounds for test files of a few MB. */
export const TEST_CUT: CutParams = { min: 4 << 10, avg: 16 << 10, max: 64 << 10 };

/** Content-defined cut points of data: the end offset of each chunk. */
export function cutPoints(data: Buffer, p: CutParams = TEST_CUT): number[] {
  const mask = (1 << Math.round(Math.log2(p.avg - p.min))) - 1;
  const out: number[] = [];
  let start = 0;
  let h = 0;
  for (let i = 0; i < data.length; i++) {
    h = ((h << 1) + GEAR[data[i]]) >>> 0;
    const len = i + 1 - start;
    if ((len >= p.min && (h & mask) === 0) || len >= p.max) {
      out.push(i + 1);
      start = i + 1;
      h = 0;
    }
  }
  if (start < data.length) out.push(data.length);
  return out;
}

/** A chunked gzip of data and its index. */
export function chunkedGzip(data: Buffer, p: CutParams = TEST_CUT): { file: Buffer; index: Buffer } {
  const head = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
  const trailer = gzipSync(data).subarray(-8);
  const tail = Buffer.concat([Buffer.from([0x03, 0x00]), trailer]);
  const parts: Buffer[] = [head];
  const segments: Segment[] = [];
  let at = 0;
  for (const end of cutPoints(data, p)) {
    const c = deflateRawSync(data.subarray(at, end), { level: 6, finishFlush: constants.Z_FULL_FLUSH });
    segments.push({ ulen: end - at, clen: c.length, hash: createHash('sha256').update(c).digest().subarray(0, 16) });
    parts.push(c);
    at = end;
  }
  parts.push(tail);
  const file = Buffer.concat(parts);
  const index = encodeIndex({
    chunker: { min: p.min, avg: p.avg, max: p.max, gear: 1 },
    compressor: 'deflate-6/test-kit',
    hashLen: 16,
    fileSha256: createHash('sha256').update(file).digest(),
    fileSize: file.length,
    head,
    tail,
    segments,
  });
  return { file, index };
}
