import { Transform, type TransformCallback } from 'node:stream';
import zlib from 'node:zlib';
import type { ChunkerParams, Segment } from './cidx.js';
import { Chunker, DEFAULT_CHUNKER } from './chunker.js';
import { deflateBatch, deflatePool, defaultThreads, type DeflateJob, type DeflateResult } from './deflate-pool.js';
import { TarMembers } from './tar-members.js';

/*
 * The chunked gzip: ONE ordinary gzip member whose deflate data is a sequence of independent segments. Each
 * segment (its bounds found by chunker.ts over the uncompressed bytes) is compressed by a fresh raw deflate
 * stream that ends in a full flush: byte-aligned, no final block, no reference to earlier bytes. So any
 * segment can be copied from one file into another, and gunzip sees one deflate stream all the same.
 *   header (10 bytes: no name, mtime 0, OS Unix) ‖ segment 0 ‖ … ‖ segment n-1 ‖ 03 00 (an empty final
 *   block) ‖ CRC-32 ‖ ISIZE (both little-endian, of the whole uncompressed stream)
 * Segments are compressed in batches of about 1 MiB, on the deflate pool's threads (in this thread when the
 * input is one batch or less), and written in order; the bytes do not depend on the threads or their timing.
 */

/** The gzip header: magic, deflate, no flags, mtime 0, no extra flags, OS 3 (Unix), as `gzip -n` writes it. */
export const GZIP_HEAD: Buffer = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0x03]);
/** An empty final block with fixed codes: BFINAL=1, BTYPE=01, end-of-block, padded to a byte. */
const FINAL_BLOCK = Buffer.from([0x03, 0x00]);
/**
 * The deflate level of every gzip cairn writes: 1, zlib's fastest. It deflates Debian's binaries more than twice
 * as fast as gzip's 6, for 7% more bytes there and 3% on the bench's image (docs/decisions.md).
 */
export const DEFAULT_LEVEL = 1;
/** Bytes of complete segments that make a batch. */
const BATCH = 1 << 20;
const NO_HASH = Buffer.alloc(0);

/** Options of the chunked gzip compressor. */
export interface ChunkedGzipOptions {
  /** Segment bounds (default 32/64/256 KiB; avg a power of two). */
  chunker?: Partial<Pick<ChunkerParams, 'min' | 'avg' | 'max'>>;
  /** Deflate level, 1 to 9 (default DEFAULT_LEVEL). */
  level?: number;
  /** Compressing threads at most (default one per core, or $CAIRN_COMPRESS_THREADS); 0 compresses in this thread. */
  threads?: number;
  /** Keep each compressed segment's sha256, for an index (default false). */
  index?: boolean;
}

/** How a finished chunked gzip is laid out: what its index records, but for the whole file's hash. */
export interface GzipLayout {
  chunker: ChunkerParams;
  /** What compressed the segments, e.g. "deflate-1/zlib-1.3.0.1-motley". */
  compressor: string;
  head: Buffer;
  tail: Buffer;
  segments: Segment[];
}

/** The compressor's identity for an index: the deflate level and the zlib that made the bytes. */
export function compressorName(level: number): string {
  return `deflate-${level}/zlib-${process.versions.zlib}`;
}

interface InFlight {
  promise: Promise<DeflateResult>;
  result?: DeflateResult;
  ulens: number[];
}

/** A transform from bytes to their chunked gzip; `layout()` describes the output once it has ended. */
export class ChunkedGzip extends Transform {
  readonly params: ChunkerParams;
  private readonly level: number;
  private readonly threads: number;
  private readonly keepHashes: boolean;
  private readonly chunker: Chunker;
  private readonly members: TarMembers;
  private readonly cap: number;
  private buf: Uint8Array;
  /** Stream offset of buf[0] (always a segment start). */
  private base = 0;
  private fill = 0;
  private cutList: number[] = [];
  private free: ArrayBuffer[] = [];
  private queue: InFlight[] = [];
  private dispatched = 0;
  private crc = 0;
  private isize = 0;
  private started = false;
  private segments: Segment[] = [];
  private tail?: Buffer;

  constructor(opts: ChunkedGzipOptions = {}) {
    super({ readableHighWaterMark: 1 << 20 });
    this.params = { ...DEFAULT_CHUNKER, ...opts.chunker, gear: DEFAULT_CHUNKER.gear };
    this.level = opts.level ?? DEFAULT_LEVEL;
    if (!Number.isInteger(this.level) || this.level < 1 || this.level > 9) throw new RangeError(`deflate level ${this.level}: want 1 to 9`);
    this.threads = opts.threads ?? defaultThreads();
    this.keepHashes = opts.index ?? false;
    this.chunker = new Chunker(this.params);
    this.members = new TarMembers(
      (at) => this.chunker.member(at),
      (start, end) => this.chunker.directory(start, end),
    );
    // A batch holds BATCH bytes of complete segments, the open segment (under max) and a header not yet complete.
    this.cap = BATCH + this.params.max + 1024;
    this.buf = this.newBuffer();
  }

  /** The layout of what was written (after the end). */
  layout(): GzipLayout {
    if (!this.tail) throw new Error('the chunked gzip has not ended');
    return { chunker: this.params, compressor: compressorName(this.level), head: GZIP_HEAD, tail: this.tail, segments: this.segments };
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.feedChunk(chunk).then(() => cb(), cb);
  }

  override _flush(cb: TransformCallback): void {
    this.endStream().then(() => cb(), cb);
  }

  private newBuffer(): Uint8Array {
    return new Uint8Array(this.free.pop() ?? new ArrayBuffer(this.cap));
  }

  private async feedChunk(chunk: Buffer): Promise<void> {
    if (!this.started) {
      this.started = true;
      this.push(Buffer.from(GZIP_HEAD));
    }
    this.members.feed(chunk);
    for (let off = 0; off < chunk.length; ) {
      const n = Math.min(this.cap - this.fill, chunk.length - off);
      this.buf.set(chunk.subarray(off, off + n), this.fill);
      this.fill += n;
      off += n;
      this.chunker.cuts(this.buf, this.base, this.base + this.fill, this.members.settled, this.cutList);
      const last = this.cutList.length ? this.cutList[this.cutList.length - 1] : this.base;
      if (last - this.base >= BATCH) {
        this.dispatch(false);
        await this.writeOut(this.threads > 0 ? 2 * this.threads : 1);
      }
    }
  }

  private async endStream(): Promise<void> {
    if (!this.started) {
      this.started = true;
      this.push(Buffer.from(GZIP_HEAD));
    }
    this.members.end();
    this.chunker.finish(this.buf, this.base, this.base + this.fill, this.cutList);
    if (this.cutList.length) this.dispatch(true);
    await this.writeOut(0);
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(this.crc >>> 0, 0);
    trailer.writeUInt32LE(this.isize >>> 0, 4);
    this.tail = Buffer.concat([FINAL_BLOCK, trailer]);
    this.push(this.tail);
  }

  /** Sends the complete segments of the batch to be compressed; the open segment starts the next batch. */
  private dispatch(final: boolean): void {
    const cuts = this.cutList;
    this.cutList = [];
    const end = cuts[cuts.length - 1];
    const used = end - this.base;
    const ulens = cuts.map((c, i) => c - (i ? cuts[i - 1] : this.base));
    const data = this.buf.subarray(0, used);
    this.crc = zlib.crc32(data, this.crc);
    this.isize = (this.isize + used) % 2 ** 32;
    const next = final ? this.buf : this.newBuffer();
    if (!final) next.set(this.buf.subarray(used, this.fill));
    const job: DeflateJob = { buf: this.buf.buffer as ArrayBuffer, ulens, level: this.level, hash: this.keepHashes };
    let promise: Promise<DeflateResult>;
    // One batch, all there is: compressed here, where a thread would cost more to start than it saves.
    if (this.threads === 0 || (final && this.dispatched === 0)) promise = this.inThread(job);
    else promise = deflatePool().run(job);
    this.dispatched++;
    const entry: InFlight = { promise, ulens };
    promise.then((r) => (entry.result = r), () => undefined);
    this.queue.push(entry);
    this.fill -= used;
    this.base = end;
    this.buf = next;
  }

  private async inThread(job: DeflateJob): Promise<DeflateResult> {
    const createHash = job.hash ? (await import('node:crypto')).createHash : undefined;
    return deflateBatch(job, zlib, createHash);
  }

  /** Writes out the finished batches at the head of the queue, then waits until at most `keep` are in flight. */
  private async writeOut(keep: number): Promise<void> {
    for (;;) {
      const head = this.queue[0];
      if (!head) return;
      if (!head.result && this.queue.length <= keep) return;
      const r = head.result ?? (await head.promise);
      this.queue.shift();
      for (let i = 0; i < head.ulens.length; i++) {
        this.segments.push({ ulen: head.ulens[i], clen: r.clens[i], hash: r.hashes ? r.hashes.subarray(32 * i, 32 * i + 32) : NO_HASH });
      }
      if (r.buf.byteLength === this.cap && this.free.length < 4) this.free.push(r.buf);
      this.push(r.out);
    }
  }
}

/** A chunked gzip compressor (see ChunkedGzip). */
export function chunkedGzip(opts: ChunkedGzipOptions = {}): ChunkedGzip {
  return new ChunkedGzip(opts);
}
