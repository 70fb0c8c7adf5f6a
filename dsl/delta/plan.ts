import { BadInputError } from '../core/errors.js';
import { segmentOffsets, type ChunkIndex } from './cidx.js';

/*
 * What an update needs, from the new file's index and the local files that have one: each segment is
 * either read verbatim from a local file holding a segment of the same hash and length, or downloaded.
 * Downloaded segments next to each other are one run, one byte range; ranges are asked for at most
 * MAX_RANGES to a request. Pure: no I/O.
 */

/** Byte ranges asked for in one request (a Range header of ~20 bytes a range; 16 or more keeps requests ≤ runs/16). */
export const MAX_RANGES = 32;
/** The largest segment accepted, compressed or not: a hostile index cannot make cairn read or trust more in one piece. */
export const MAX_SEGMENT = 64 << 20;

/** A local file and its index (the index says what is in the file; every segment read is checked against it). */
export interface Seed {
  file: string;
  index: ChunkIndex;
}

/** Where one segment's bytes come from: a local file at an offset, or the server. */
export type Source = { file: string; at: number } | undefined;

/** A half-open byte range [start, end) of the new file. */
export interface Run {
  start: number;
  end: number;
}

/** What an update will do. */
export interface Plan {
  /** Per segment of the new index: the local copy to read, or undefined to download it. */
  sources: Source[];
  /** Each segment's offset in the new file. */
  offsets: number[];
  /** The runs of downloaded segments, in file order. */
  runs: Run[];
  /** Bytes read from local files. */
  reused: number;
  /** Bytes to download (the runs; head and tail come with the index). */
  download: number;
  /** Range requests the runs take (MAX_RANGES a request). */
  requests: number;
}

/** Refuses an index whose segments are absurdly large (before anything is read or allocated by it). */
export function checkBounds(idx: ChunkIndex, what: string): void {
  for (const s of idx.segments) {
    if (s.clen > MAX_SEGMENT || s.ulen > MAX_SEGMENT) {
      throw new BadInputError(`${what}: a segment of ${Math.max(s.clen, s.ulen)} bytes is larger than cairn accepts (${MAX_SEGMENT})`, { hint: 'publish the .cidx that cairn export wrote beside the file' });
    }
  }
}

/** The key under which segments are matched: length and the first 8 bytes of the hash (every index keeps at least 8). */
function keyOf(clen: number, hash: Buffer): string {
  return `${clen}:${hash.toString('hex', 0, 8)}`;
}

/** Plans the update of the file `idx` describes from the seeds. */
export function planUpdate(idx: ChunkIndex, seeds: Seed[]): Plan {
  const have = new Map<string, { file: string; at: number; hash: Buffer }>();
  for (const s of seeds) {
    const offs = segmentOffsets(s.index);
    s.index.segments.forEach((seg, i) => {
      const k = keyOf(seg.clen, seg.hash);
      if (!have.has(k)) have.set(k, { file: s.file, at: offs[i], hash: seg.hash });
    });
  }
  const offsets = segmentOffsets(idx);
  const sources: Source[] = new Array(idx.segments.length);
  const runs: Run[] = [];
  let reused = 0;
  let download = 0;
  idx.segments.forEach((seg, i) => {
    const h = have.get(keyOf(seg.clen, seg.hash));
    const n = Math.min(h?.hash.length ?? 0, seg.hash.length);
    if (h && h.hash.subarray(0, n).equals(seg.hash.subarray(0, n))) {
      sources[i] = { file: h.file, at: h.at };
      reused += seg.clen;
      return;
    }
    sources[i] = undefined;
    download += seg.clen;
    const last = runs[runs.length - 1];
    if (last && last.end === offsets[i]) last.end += seg.clen;
    else runs.push({ start: offsets[i], end: offsets[i] + seg.clen });
  });
  return { sources, offsets, runs, reused, download, requests: Math.ceil(runs.length / MAX_RANGES) };
}
