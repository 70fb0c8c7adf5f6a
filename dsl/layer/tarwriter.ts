import { createHash } from 'node:crypto';
import { closeSync, readSync } from 'node:fs';
import { Readable } from 'node:stream';
import { CairnError } from '../core/errors.js';
import type { LayerEntry } from './entry.js';
import { changedSize, headerOf, openSource } from './tar-entry.js';
import { TarFill, fillsInParallel } from './tar-fill.js';
import { BLOCK, headerBlocks, writeHeader } from './tar-header.js';

export { headerOf } from './tar-entry.js';

/** Output is handed on in chunks of this size: headers, small files and pieces of large ones gathered into one buffer. */
const CHUNK = 1 << 20;
const ZEROS = Buffer.alloc(1024);
/** Where the one byte past a file's end is read into, when checking that there is none. */
const ONE = Buffer.alloc(1);

/**
 * The tar bytes of a list of entries, made on demand into the caller's buffer: headers and file content, the
 * content read synchronously straight into that buffer (no copy, no read-ahead of whole files, a few
 * milliseconds of work per megabyte). Thousands of small files cost one open, read and close each, instead of a
 * round trip to the thread pool for every call. Sources are opened without following a symlink, and must keep
 * the size the scan saw.
 */
export class TarPacker {
  private i = 0;
  /** The open source of `cur` while its content is being copied, and how much of it is still to come. */
  private fd = -1;
  private left = 0;
  private cur?: LayerEntry;
  /** Bytes of a header or padding that did not fit in the last buffer. */
  private pending?: Buffer;
  private ended = false;

  constructor(private entries: LayerEntry[], private timestamp?: number) {}

  /** Fills buf from its start with the next bytes of the tar; returns how many (0 once the tar is complete). */
  fill(buf: Buffer): number {
    try {
      return this.fillFrom(buf);
    } catch (err) {
      this.close();
      throw err;
    }
  }

  /** Closes the source being read, if any (after an error, or when the reader gives up). */
  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  private fillFrom(buf: Buffer): number {
    let pos = 0;
    const put = (b: Buffer): boolean => {
      const n = b.copy(buf, pos);
      pos += n;
      if (n < b.length) this.pending = b.subarray(n);
      return n === b.length;
    };
    if (this.pending) {
      const p = this.pending;
      this.pending = undefined;
      if (!put(p)) return pos;
    }
    while (pos < buf.length) {
      if (this.fd >= 0) {
        const e = this.cur!;
        while (this.left > 0 && pos < buf.length) {
          const n = readSync(this.fd, buf, pos, Math.min(this.left, buf.length - pos), null);
          if (n === 0) throw changedSize(e);
          pos += n;
          this.left -= n;
        }
        if (this.left > 0) return pos;
        // The file must end where the scan said it did.
        if (readSync(this.fd, ONE, 0, 1, null) !== 0) throw changedSize(e);
        this.close();
        if (!put(ZEROS.subarray(0, (BLOCK - (e.size % BLOCK)) % BLOCK))) return pos;
        continue;
      }
      if (this.i === this.entries.length) {
        if (this.ended) return pos;
        this.ended = true;
        if (!put(ZEROS)) return pos;
        continue;
      }
      const e = this.entries[this.i++];
      const h = headerOf(e, this.timestamp);
      if (e.type === 'file' && e.size > 0) {
        if (!e.source) throw new CairnError(`layer entry ${e.path} has no source file`);
        this.fd = openSource(e);
        this.left = e.size;
        this.cur = e;
      } else if (e.type === 'file' && e.source) {
        // An empty file must still be there, and empty, when it is packed.
        const fd = openSource(e);
        const n = readSync(fd, ONE, 0, 1, null);
        closeSync(fd);
        if (n !== 0) throw changedSize(e);
      }
      // Most headers are one ustar block, written where it goes.
      if (!h.pax && buf.length - pos >= BLOCK && writeHeader(buf, pos, h)) pos += BLOCK;
      else if (!put(headerBlocks(h))) return pos;
    }
    return pos;
  }
}

/** A tar stream of entries: each read is one CHUNK made by a TarPacker. */
class PackStream extends Readable {
  private packer: TarPacker;

  constructor(entries: LayerEntry[], timestamp?: number) {
    super({ highWaterMark: CHUNK });
    this.packer = new TarPacker(entries, timestamp);
  }

  _read(): void {
    try {
      const buf = Buffer.allocUnsafe(CHUNK);
      const n = this.packer.fill(buf);
      this.push(n ? buf.subarray(0, n) : null);
    } catch (err) {
      this.destroy(err as Error);
    }
  }

  _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.packer.close();
    cb(err);
  }
}

/** A tar stream of a big tar: each read is one segment filled by other threads (tar-fill.ts); chunks are never reused. */
class ParallelPackStream extends Readable {
  private fill: TarFill;

  constructor(entries: LayerEntry[], timestamp?: number) {
    super({ highWaterMark: CHUNK });
    this.fill = new TarFill(entries, timestamp);
  }

  _read(): void {
    this.fill.next().then(
      (b) => {
        if (!b) this.fill.close();
        this.push(b);
      },
      (err: Error) => this.destroy(err),
    );
  }

  _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.fill.close();
    cb(err);
  }
}

/** Options of packEntries and digestEntries. */
export interface PackOptions {
  /** Clamps every entry's mtime to this (SOURCE_DATE_EPOCH). */
  timestamp?: number;
  /** File content from which the tar is filled by threads (default PARALLEL_AT). */
  parallelAt?: number;
}

/** A deterministic uncompressed tar stream of entries, in the order given; regular files are read from their source. */
export function packEntries(entries: LayerEntry[], opts: PackOptions = {}): Readable {
  return fillsInParallel(entries, opts.parallelAt) ? new ParallelPackStream(entries, opts.timestamp) : new PackStream(entries, opts.timestamp);
}

/**
 * The sha256 digest and size of the tar packEntries would make, without making a stream of it (the seal of a
 * layer kept as a tree needs only its diffID). A big tar is filled by other threads (tar-fill.ts) and hashed
 * here in order; a small one is packed and hashed here, buffer by buffer, the event loop getting a turn after
 * every buffer.
 */
export async function digestEntries(entries: LayerEntry[], opts: PackOptions & { onBytes?: (size: number) => void } = {}): Promise<{ digest: string; size: number }> {
  if (fillsInParallel(entries, opts.parallelAt)) {
    const fill = new TarFill(entries, opts.timestamp);
    try {
      return await fill.digest(opts.onBytes);
    } finally {
      fill.close();
    }
  }
  const hash = createHash('sha256');
  let size = 0;
  const packer = new TarPacker(entries, opts.timestamp);
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    for (let n = packer.fill(buf); n > 0; n = packer.fill(buf)) {
      hash.update(buf.subarray(0, n));
      size += n;
      opts.onBytes?.(size);
      await new Promise(setImmediate);
    }
    return { digest: 'sha256:' + hash.digest('hex'), size };
  } finally {
    packer.close();
  }
}
