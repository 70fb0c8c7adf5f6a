import type { ChunkerParams } from './cidx.js';
import { GEAR, GEAR_ID } from './gear.js';
import { wasmRoll } from './gear-wasm.js';
import { MAX_SEGMENT } from './plan.js';

/*
 * Content-defined segment boundaries (FastCDC): a gear hash rolls over the uncompressed bytes and a segment
 * ends after a byte where the hash's top bits are all zero. No cut before `min` bytes (those are not even
 * hashed: the hash restarts at min), a stricter mask (more bits) until `avg` and a looser one after it
 * (normalized chunking: sizes bunch around avg), and a forced cut at `max`. A tar member starting past min
 * also ends the segment before its header. Each cut depends only on the bytes since the previous one, so an
 * insertion moves the cuts near it and those after fall back in step within a segment or two.
 */

/** The default segment bounds: 32, 64 and 256 KiB (smaller segments cost more than 6% in size over gzip -6; docs/decisions.md). */
export const DEFAULT_CHUNKER: ChunkerParams = { min: 32 << 10, avg: 64 << 10, max: 256 << 10, gear: GEAR_ID };

/** A mask of the top `bits` bits of an int32. */
function topBits(bits: number): number {
  return bits <= 0 ? 0 : bits >= 32 ? -1 : (-1 << (32 - bits)) | 0;
}

/** The first i in [from, to) where the hash, rolled over buf[from..i], has no bit of mask set; -1 if none. The hash so far is in state[0]. */
export function jsRoll(buf: Uint8Array, from: number, to: number, mask: number, state: Int32Array): number {
  const gear = GEAR;
  let h = state[0];
  for (let i = from; i < to; i++) {
    h = ((h << 1) + gear[buf[i]]) | 0;
    if ((h & mask) === 0) {
      state[0] = h;
      return i;
    }
  }
  state[0] = h;
  return -1;
}

/** The gear loop the chunker runs: gear-wasm.ts's (three times as fast), else jsRoll. */
const roll = wasmRoll() ?? jsRoll;

/** Checks chunker parameters: 64 ≤ min ≤ avg ≤ max < 4 GiB, avg a power of two (the masks are bit counts). */
export function checkParams(p: ChunkerParams): void {
  const ok = Number.isInteger(p.min) && Number.isInteger(p.max) && p.min >= 64 && p.min <= p.avg && p.avg <= p.max && p.max < 2 ** 32 && Number.isInteger(Math.log2(p.avg));
  if (!ok) throw new RangeError(`bad chunker parameters ${p.min}/${p.avg}/${p.max}: want 64 ≤ min ≤ avg ≤ max, avg a power of two`);
  if (p.gear !== GEAR_ID) throw new RangeError(`unknown gear table ${p.gear}`);
}

/** Segment bounds as a user writes them, casync's way: `MIN:AVG:MAX` or `AVG` (then MIN = AVG/4, MAX = AVG×4), each in bytes with an optional K or M (KiB, MiB). */
export function parseChunkSizes(text: string): Pick<ChunkerParams, 'min' | 'avg' | 'max'> {
  const sizes = text.split(':').map((part) => {
    const m = /^(\d+)([KkMm]?)$/.exec(part.trim());
    if (!m) return NaN;
    return Number(m[1]) * (m[2] === '' ? 1 : /k/i.test(m[2]) ? 1024 : 1 << 20);
  });
  if ((sizes.length !== 1 && sizes.length !== 3) || sizes.some((n) => !Number.isSafeInteger(n))) {
    throw new RangeError(`chunk sizes ${JSON.stringify(text)}: want MIN:AVG:MAX or AVG in bytes, K or M, e.g. 32K:64K:256K`);
  }
  const [min, avg, max] = sizes.length === 1 ? [Math.floor(sizes[0] / 4), sizes[0], sizes[0] * 4] : sizes;
  // A fetch refuses larger segments.
  if (max > MAX_SEGMENT) throw new RangeError(`chunk sizes ${JSON.stringify(text)}: the largest segment may be 64M at most`);
  checkParams({ min, avg, max, gear: GEAR_ID });
  return { min, avg, max };
}

/** Finds the cuts of one stream, fed in order; offsets are absolute positions in the uncompressed stream. */
export class Chunker {
  /** Start of the current segment. */
  private start = 0;
  /** Next byte to hash (bytes from start to start + min are skipped). */
  private pos: number;
  private readonly h = new Int32Array(1);
  private readonly maskS: number;
  private readonly maskL: number;
  /** Where tar members start (ascending), from `head` on. */
  private members: number[] = [];
  private head = 0;
  /** Cuts made whatever the sizes (ascending): start, end pairs around runs of directory members. */
  private hard: number[] = [];
  private hardHead = 0;

  constructor(readonly params: ChunkerParams = DEFAULT_CHUNKER) {
    checkParams(params);
    const bits = Math.log2(params.avg);
    this.maskS = topBits(bits + 2);
    this.maskL = topBits(bits - 2);
    this.pos = params.min;
  }

  /** Notes that a tar member starts at offset (offsets ascending). */
  member(offset: number): void {
    this.members.push(offset);
  }

  /** Notes a directory member from start to end: it gets a segment of its own (with the directories right next to it). */
  directory(start: number, end: number): void {
    const last = this.hard.length - 1;
    if (last >= this.hardHead && this.hard[last] === start) this.hard[last] = end;
    else this.hard.push(start, end);
  }

  /**
   * Appends to `out` the cuts between the current segment's start and `end`: buf holds the stream from offset
   * `base` (at least from the current segment's start) to `end`; `settled` is where the tar tracking stops
   * being complete (no cut past it is decided yet). Returns the start of the segment still open.
   */
  cuts(buf: Uint8Array, base: number, end: number, settled: number, out: number[]): number {
    const { min, avg, max } = this.params;
    const stop = Math.min(end, settled);
    for (;;) {
      const minEnd = this.start + min;
      while (this.head < this.members.length && this.members[this.head] < minEnd) this.head++;
      if (this.head > 1024) {
        this.members = this.members.slice(this.head);
        this.head = 0;
      }
      const member = this.head < this.members.length ? this.members[this.head] : Infinity;
      while (this.hardHead < this.hard.length && this.hard[this.hardHead] <= this.start) this.hardHead++;
      if (this.hardHead > 1024) {
        const keep = this.hardHead % 2;
        this.hard = this.hard.slice(this.hardHead - keep);
        this.hardHead = keep;
      }
      const hard = this.hardHead < this.hard.length ? this.hard[this.hardHead] : Infinity;
      // Bytes are hashed up to (not including) limit: a cut there is forced when limit is max, a member or a hard cut.
      const limit = Math.min(this.start + max, member, hard);
      let cut = -1;
      const avgEnd = Math.min(this.start + avg - 1, limit);
      if (this.pos < avgEnd && this.pos < stop) {
        const i = roll(buf, this.pos - base, Math.min(avgEnd, stop) - base, this.maskS, this.h);
        if (i >= 0) cut = base + i + 1;
        else this.pos = Math.min(avgEnd, stop);
      }
      if (cut < 0 && this.pos >= avgEnd && this.pos < limit && this.pos < stop) {
        const i = roll(buf, this.pos - base, Math.min(limit, stop) - base, this.maskL, this.h);
        if (i >= 0) cut = base + i + 1;
        else this.pos = Math.min(limit, stop);
      }
      // A run of directories ends only where the member after it is known not to be one (else the cut would depend on how the bytes arrive).
      const runEnd = limit === hard && this.hardHead % 2 === 1;
      if (cut < 0 && this.pos >= limit && limit <= end && (!runEnd || limit < stop)) cut = limit;
      if (cut < 0) return this.start;
      out.push(cut);
      this.start = cut;
      this.pos = cut + min;
      this.h[0] = 0;
    }
  }

  /** The stream has ended at `end`: the cuts left (the last segment ends at end). */
  finish(buf: Uint8Array, base: number, end: number, out: number[]): void {
    this.cuts(buf, base, end, Infinity, out);
    if (end > this.start) out.push(end);
    this.start = end;
  }
}
