import { BadInputError } from '../core/errors.js';

/*
 * The .cidx index published beside a chunked FILE.tar.gz (docs/delta.md). All integers big-endian.
 *   "CIDX" ‖ version u8 (1) ‖ hashLen u8 ‖ 2 zero bytes
 *   chunker: min u32 ‖ avg u32 ‖ max u32 ‖ gear table u8 ‖ 3 zero bytes
 *   compressor: length u8 ‖ ASCII name (e.g. "deflate-1/zlib-1.3.0.1-motley")
 *   file: sha256 (32 bytes) of the whole FILE ‖ size u64
 *   head: length u16 ‖ the bytes before the first segment (the gzip header)
 *   tail: length u16 ‖ the bytes after the last segment (final empty block, CRC-32, ISIZE)
 *   segments: count u32, then per segment ulen u32 ‖ clen u32 ‖ the first hashLen bytes of sha256(compressed bytes)
 * FILE = head ‖ segment 0 ‖ … ‖ segment n-1 ‖ tail, so each segment's offset is the sum of what precedes it.
 */

/** The chunker's parameters: the bounds of a segment's uncompressed size, in bytes, and the gear table used. */
export interface ChunkerParams {
  min: number;
  avg: number;
  max: number;
  /** Which gear table the rolling hash used (1: cairn's). */
  gear: number;
}

/** One segment of the file: its uncompressed and compressed lengths and (a prefix of) the sha256 of its compressed bytes. */
export interface Segment {
  ulen: number;
  clen: number;
  hash: Buffer;
}

/** A decoded index. */
export interface ChunkIndex {
  chunker: ChunkerParams;
  /** What compressed the segments, for information: segments are always reused verbatim, never recompressed. */
  compressor: string;
  /** Bytes of each segment hash kept (8 to 32; a prefix of the sha256). */
  hashLen: number;
  /** sha256 of the whole file. */
  fileSha256: Buffer;
  fileSize: number;
  head: Buffer;
  tail: Buffer;
  segments: Segment[];
}

const MAGIC = Buffer.from('CIDX', 'latin1');
const VERSION = 1;
/** The index format's version this code writes and reads. */
export const CIDX_VERSION = VERSION;

/** The index file's bytes. */
export function encodeIndex(idx: ChunkIndex): Buffer {
  const name = Buffer.from(idx.compressor, 'latin1');
  if (name.length > 255 || idx.head.length > 0xffff || idx.tail.length > 0xffff) throw new RangeError('index field too long');
  if (idx.hashLen < 8 || idx.hashLen > 32 || idx.fileSha256.length !== 32) throw new RangeError('bad hash length');
  // A shorter hash would shift every later entry; lengths that do not add up would be refused by decodeIndex.
  if (idx.segments.some((s) => s.hash.length < idx.hashLen || s.clen === 0)) throw new RangeError('segment hash shorter than hashLen, or empty segment');
  if (idx.segments.reduce((n, s) => n + s.clen, idx.head.length + idx.tail.length) !== idx.fileSize) throw new RangeError('segments do not add up to the file size');
  const fixed = 8 + 16 + 1 + name.length + 40 + 2 + idx.head.length + 2 + idx.tail.length + 4;
  const out = Buffer.alloc(fixed + idx.segments.length * (8 + idx.hashLen));
  let at = MAGIC.copy(out, 0);
  at = out.writeUInt8(VERSION, at);
  at = out.writeUInt8(idx.hashLen, at) + 2;
  at = out.writeUInt32BE(idx.chunker.min, at);
  at = out.writeUInt32BE(idx.chunker.avg, at);
  at = out.writeUInt32BE(idx.chunker.max, at);
  at = out.writeUInt8(idx.chunker.gear, at) + 3;
  at = out.writeUInt8(name.length, at);
  at += name.copy(out, at);
  at += idx.fileSha256.copy(out, at);
  at = out.writeBigUInt64BE(BigInt(idx.fileSize), at);
  at = out.writeUInt16BE(idx.head.length, at);
  at += idx.head.copy(out, at);
  at = out.writeUInt16BE(idx.tail.length, at);
  at += idx.tail.copy(out, at);
  at = out.writeUInt32BE(idx.segments.length, at);
  for (const s of idx.segments) {
    at = out.writeUInt32BE(s.ulen, at);
    at = out.writeUInt32BE(s.clen, at);
    at += s.hash.copy(out, at, 0, idx.hashLen);
  }
  return out;
}

/** Decodes an index, refusing anything malformed or inconsistent (its lengths must add up to the file's size). */
export function decodeIndex(buf: Buffer, what = 'index'): ChunkIndex {
  const bad = (why: string): never => {
    throw new BadInputError(`${what}: not a valid chunk index (${why})`, { hint: 'publish the .cidx that cairn export wrote beside the file, or remove it' });
  };
  let at = 0;
  const need = (n: number): number => {
    if (at + n > buf.length) bad('truncated');
    const here = at;
    at += n;
    return here;
  };
  if (!buf.subarray(need(4), 4).equals(MAGIC)) bad('bad magic');
  const version = buf.readUInt8(need(1));
  if (version !== VERSION) bad(`version ${version}, this cairn reads ${VERSION}`);
  const hashLen = buf.readUInt8(need(1));
  if (hashLen < 8 || hashLen > 32) bad(`hash length ${hashLen}`);
  need(2);
  const chunker = { min: buf.readUInt32BE(need(4)), avg: buf.readUInt32BE(need(4)), max: buf.readUInt32BE(need(4)), gear: buf.readUInt8(need(1)) };
  need(3);
  const nameLen = buf.readUInt8(need(1));
  const compressor = buf.toString('latin1', need(nameLen), at);
  const fileSha256 = Buffer.from(buf.subarray(need(32), at));
  const size = buf.readBigUInt64BE(need(8));
  if (size > BigInt(Number.MAX_SAFE_INTEGER)) bad('file size too large');
  const fileSize = Number(size);
  const headLen = buf.readUInt16BE(need(2));
  const head = Buffer.from(buf.subarray(need(headLen), at));
  const tailLen = buf.readUInt16BE(need(2));
  const tail = Buffer.from(buf.subarray(need(tailLen), at));
  const count = buf.readUInt32BE(need(4));
  if (buf.length - at !== count * (8 + hashLen)) bad('segment table length');
  const segments: Segment[] = new Array(count);
  let total = head.length + tail.length;
  for (let i = 0; i < count; i++) {
    const ulen = buf.readUInt32BE(need(4));
    const clen = buf.readUInt32BE(need(4));
    if (clen === 0) bad(`segment ${i} is empty`);
    segments[i] = { ulen, clen, hash: Buffer.from(buf.subarray(need(hashLen), at)) };
    total += clen;
  }
  if (total !== fileSize) bad(`segments add up to ${total} bytes, the file has ${fileSize}`);
  return { chunker, compressor, hashLen, fileSha256, fileSize, head, tail, segments };
}

/** Each segment's offset in the file (head first). */
export function segmentOffsets(idx: ChunkIndex): number[] {
  const out = new Array<number>(idx.segments.length);
  let at = idx.head.length;
  for (let i = 0; i < idx.segments.length; i++) {
    out[i] = at;
    at += idx.segments[i].clen;
  }
  return out;
}
