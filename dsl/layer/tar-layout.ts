import { CairnError } from '../core/errors.js';
import type { LayerEntry } from './entry.js';
import { headerOf } from './tar-entry.js';
import { BLOCK, fillZeros, headerBlocks, writeHeader, type TarHeader } from './tar-header.js';

/*
 * The layout of the tar of a list of entries, cut into segments. After the scan every entry's size is known,
 * so where each header, each file's content and its padding go is known before a byte is read: a segment's
 * headers and zeros are written into its buffer here, and the file content it holds is listed as pieces for
 * a filler thread (tar-fill.ts) to read into it. A big file spans segments: one piece in each.
 */

/** One segment: its length, the file pieces to read into it, and an error to give once its bytes are handed on. */
export interface Plan {
  len: number;
  /** Each piece's source file. */
  paths: string[];
  /** Four numbers a piece: offset in the segment, length, offset in the file, size of the file. */
  nums: number[];
  /** The index of each piece's entry. */
  entries: number[];
  /** The layout stopped after this segment: the error the serial packer (tarwriter.ts) gives at that point. */
  error?: unknown;
}

/** The tar's layout, segment by segment, with the bytes packEntries makes. */
export class Layout {
  private i = 0;
  private head?: Buffer;
  private headOff = 0;
  /** The entry whose content comes next, and how much of it was laid out. */
  private cur = -1;
  private at = 0;
  private pad = 0;
  /** The two zero blocks that end the archive. */
  private end = 2 * BLOCK;
  private stopped = false;

  constructor(private entries: LayerEntry[], private timestamp?: number) {}

  /** Lays out the next segment into buf (from its start); a plan of length 0 and no error once the tar is complete. */
  next(buf: Buffer): Plan {
    const plan: Plan = { len: 0, paths: [], nums: [], entries: [] };
    let pos = 0;
    const piece = (e: LayerEntry, idx: number, n: number, at: number): void => {
      plan.paths.push(e.source!);
      plan.nums.push(pos, n, at, e.size);
      plan.entries.push(idx);
    };
    while (pos < buf.length && !this.stopped) {
      if (this.head) {
        const n = this.head.copy(buf, pos, this.headOff);
        pos += n;
        this.headOff += n;
        if (this.headOff === this.head.length) this.head = undefined;
        continue;
      }
      if (this.cur >= 0) {
        const e = this.entries[this.cur];
        const n = Math.min(e.size - this.at, buf.length - pos);
        piece(e, this.cur, n, this.at);
        pos += n;
        this.at += n;
        if (this.at === e.size) {
          this.cur = -1;
          this.pad = (BLOCK - (e.size % BLOCK)) % BLOCK;
        }
        continue;
      }
      if (this.pad > 0 || this.i === this.entries.length) {
        const zeros = this.pad > 0 ? this.pad : this.end;
        if (zeros === 0) break;
        const n = Math.min(zeros, buf.length - pos);
        fillZeros(buf, pos, pos + n);
        pos += n;
        if (this.pad > 0) this.pad -= n;
        else this.end -= n;
        continue;
      }
      const idx = this.i++;
      const e = this.entries[idx];
      let h: TarHeader;
      try {
        h = headerOf(e, this.timestamp);
        if (e.type === 'file' && e.size > 0 && !e.source) throw new CairnError(`layer entry ${e.path} has no source file`);
      } catch (err) {
        plan.error = err;
        this.stopped = true;
        break;
      }
      // Most headers are one ustar block, written where it goes; others (PAX, or across the segment's end) are copied.
      if (h.pax || buf.length - pos < BLOCK || !writeHeader(buf, pos, h)) {
        this.head = headerBlocks(h);
        this.headOff = 0;
      } else pos += BLOCK;
      if (e.type === 'file' && e.size > 0) {
        this.cur = idx;
        this.at = 0;
      } else if (e.type === 'file' && e.source) {
        // An empty file must still be there, and empty, when it is packed.
        piece(e, idx, 0, 0);
      }
    }
    plan.len = pos;
    return plan;
  }
}
