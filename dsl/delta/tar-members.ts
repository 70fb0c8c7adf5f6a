/*
 * Where the members of a tar stream start, found as the stream goes by: the chunker cuts there, so a file that
 * changes leaves the segments of its neighbours alone. A member is its header block (512 bytes) and its data
 * rounded up to whole blocks; PAX ('x') and GNU long-name headers ('L', 'K') belong to the member they precede,
 * so the member starts at the first of them. The end-of-archive blocks start one more "member" (what follows
 * them, padding and a flat file's signature trailer, is not tar). Only boundaries depend on this: a stream that
 * is not a tar, or a header that does not parse (bad checksum), just ends the tracking.
 * A directory member (headers only, no data) is also reported with its end: its times change whenever anything
 * in it does, so the chunker gives it a segment of its own and its neighbours' segments survive.
 */

const BLOCK = 512;
/** Types whose size field says nothing about data blocks (as Go's archive/tar reads them). */
const HEADER_ONLY = new Set(['1', '2', '3', '4', '5', '6'].map((c) => c.charCodeAt(0)));
/** Headers that describe the next header's member. */
const PREFIX = new Set(['x', 'L', 'K'].map((c) => c.charCodeAt(0)));
const DIR = '5'.charCodeAt(0);

/** A header's size field: octal ASCII, or base-256 (first byte's high bit set; negative values refused). */
function sizeOf(h: Uint8Array): number | undefined {
  if (h[124] & 0x80) {
    if (h[124] & 0x40) return undefined;
    let v = h[124] & 0x3f;
    for (let i = 125; i < 136; i++) v = v * 256 + h[i];
    return Number.isSafeInteger(v) ? v : undefined;
  }
  let v = 0;
  let i = 124;
  while (i < 136 && (h[i] === 0x20 || h[i] === 0)) i++;
  for (; i < 136 && h[i] >= 0x30 && h[i] <= 0x37; i++) v = v * 8 + (h[i] - 0x30);
  return v;
}

/** True when the header's checksum field matches its bytes (sum of all bytes, the field counted as spaces). */
function checksumOk(h: Uint8Array): boolean {
  let stored = 0;
  let i = 148;
  while (i < 156 && (h[i] === 0x20 || h[i] === 0)) i++;
  for (; i < 156 && h[i] >= 0x30 && h[i] <= 0x37; i++) stored = stored * 8 + (h[i] - 0x30);
  let sum = 0;
  for (let j = 0; j < BLOCK; j++) sum += j >= 148 && j < 156 ? 0x20 : h[j];
  return sum === stored;
}

/** Follows a tar stream's headers; the offsets where members start are handed to `onMember`, in order. */
export class TarMembers {
  /** Offset of the next header in the stream. */
  private next = 0;
  /** Bytes of the next header gathered so far (a header may span chunks). */
  private header = new Uint8Array(BLOCK);
  private have = 0;
  /** Whether the next header continues the member of a PAX or long-name header. */
  private continues = false;
  private done = false;
  /** Stream offset of the first byte not yet seen. */
  private seen = 0;
  /** Where the member whose headers are being read starts (its first PAX or long-name header). */
  private memberStart = 0;

  /** onMember gets each member's start; onDirectory a directory member's start and end. */
  constructor(
    private readonly onMember: (offset: number) => void,
    private readonly onDirectory: (start: number, end: number) => void = () => {},
  ) {}

  /**
   * Every member starting before this offset has been reported: the stream's end, or the start of a header
   * not yet complete (whether a member starts there is known once it is).
   */
  get settled(): number {
    if (this.done) return Infinity;
    const at = this.have > 0 || this.next < this.seen ? this.next : this.seen;
    // Inside a member's prefix headers, whether it is a directory (a cut at its start) is not known yet.
    return this.continues ? Math.min(at, this.memberStart) : at;
  }

  /** Reads the next bytes of the stream. */
  feed(chunk: Uint8Array): void {
    const base = this.seen;
    this.seen += chunk.length;
    while (!this.done && this.next < this.seen) {
      const from = this.next + this.have - base;
      const take = Math.min(BLOCK - this.have, chunk.length - from);
      this.header.set(chunk.subarray(from, from + take), this.have);
      this.have += take;
      if (this.have < BLOCK) return;
      this.have = 0;
      this.header1();
    }
  }

  /** The stream has ended: no more members. */
  end(): void {
    this.done = true;
  }

  /** Reads a complete header at this.next. */
  private header1(): void {
    const h = this.header;
    if (h.every((b) => b === 0)) {
      if (!this.continues) this.onMember(this.next);
      this.done = true;
      return;
    }
    const size = sizeOf(h);
    if (size === undefined || !checksumOk(h)) {
      this.done = true;
      return;
    }
    if (!this.continues) {
      this.memberStart = this.next;
      this.onMember(this.next);
    }
    const type = h[156];
    if (type === DIR) this.onDirectory(this.memberStart, this.next + BLOCK);
    this.continues = PREFIX.has(type);
    const data = HEADER_ONLY.has(type) ? 0 : Math.ceil(size / BLOCK) * BLOCK;
    this.next += BLOCK + data;
  }
}
