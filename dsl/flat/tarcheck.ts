/**
 * A streaming structure check of a tar archive, fed the bytes in order: header checksums, entry sizes,
 * the end-of-archive blocks and zero padding after them. It reads only header blocks (one per entry), so
 * it costs next to nothing beside hashing. Used to say *why* a signature does not verify.
 */
export class TarCheck {
  private pos = 0;
  private next = 0;
  private hdr = Buffer.alloc(512);
  private fill = 0;
  private zeros = 0;
  private ended = false;
  /** The first problem found, one line; undefined while the archive looks well formed. */
  problem?: string;

  /** Feeds the next bytes of the archive. */
  update(chunk: Uint8Array): void {
    if (this.problem) return;
    let i = 0;
    const n = chunk.length;
    while (i < n && !this.problem) {
      if (this.ended) {
        for (; i < n; i++) {
          if (chunk[i] !== 0) {
            this.problem = `data after the end of the tar archive at byte ${this.pos + i}`;
            break;
          }
        }
        break;
      }
      if (this.pos + i < this.next) {
        i = Math.min(n, this.next - this.pos);
        continue;
      }
      const take = Math.min(512 - this.fill, n - i);
      this.hdr.set(chunk.subarray(i, i + take), this.fill);
      this.fill += take;
      i += take;
      if (this.fill === 512) {
        this.fill = 0;
        this.header(this.next);
      }
    }
    this.pos += n;
  }

  private header(at: number): void {
    const h = this.hdr;
    this.next = at + 512;
    if (h.every((b) => b === 0)) {
      if (++this.zeros === 2) this.ended = true;
      return;
    }
    if (this.zeros) {
      this.problem = `a zero block inside the tar archive at byte ${at - 512}`;
      return;
    }
    let sum = 0;
    for (let j = 0; j < 512; j++) sum += j >= 148 && j < 156 ? 32 : h[j];
    const stored = parseInt(h.toString('latin1', 148, 156).replace(/[\0 ]+$/, '').trim(), 8);
    if (stored !== sum) {
      this.problem = `bad tar header checksum at byte ${at}`;
      return;
    }
    const type = String.fromCharCode(h[156]);
    // Types that carry no data whatever their size field says (as Go's archive/tar reads them).
    if ('123456'.includes(type)) return;
    let size: number;
    if (h[124] & 0x80) {
      size = 0;
      for (let j = 125; j < 136; j++) size = size * 256 + h[j];
    } else size = parseInt(h.toString('latin1', 124, 136).replace(/[\0 ]+$/, '').trim() || '0', 8);
    if (!Number.isFinite(size) || size < 0) {
      this.problem = `bad tar entry size at byte ${at}`;
      return;
    }
    this.next += Math.ceil(size / 512) * 512;
  }

  /** True when the very first header is not a tar header: the data is no tar archive at all. */
  get notTar(): boolean {
    return this.problem === 'bad tar header checksum at byte 0';
  }

  /** Ends the check; the problem, if any. */
  end(): string | undefined {
    if (this.problem) return this.problem;
    if (this.pos === 0) return 'empty';
    if (!this.ended) return this.fill || this.pos < this.next ? 'the tar archive is cut short inside an entry' : 'the tar archive has no end-of-archive blocks';
    return undefined;
  }
}
