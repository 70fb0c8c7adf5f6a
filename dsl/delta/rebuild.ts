import { createHash, type Hash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { BodyReader, byterangesBoundary, parseContentRange, rangeHeader, type ByteRange } from '../core/byteranges.js';
import { getWith } from '../core/fetch.js';
import type { ChunkIndex } from './cidx.js';
import { MAX_RANGES, type Plan, type Run } from './plan.js';

/*
 * Rebuilding a file from its index: segment by segment in file order, each read verbatim from a local
 * file or taken from the answer to a range request, its hash checked as it passes, the whole file's
 * sha256 checked at the end. Written sequentially into dest; nothing is held in memory beyond a buffer.
 */

/** The update cannot go on as planned (a wrong range, an index that does not match the file, a corrupt local segment): download the whole file instead. */
export class DeltaMismatch extends Error {
  /** The local file whose segment was corrupt, when that was the cause. */
  constructor(message: string, readonly corruptSeed?: string) {
    super(message);
  }
}

/** The server answered a range request with the whole file (200): use it as a plain download. */
class WholeBody {
  constructor(readonly res: IncomingMessage, readonly href: string) {}
}

/** What a rebuild did. */
export interface RebuildResult {
  /** 'rebuilt' from segments, or 'whole' when the server sent the whole file (saved to dest as it came). */
  kind: 'rebuilt' | 'whole';
  requests: number;
  /** Bytes of the answers' bodies (multipart headers included). */
  downloaded: number;
  reused: number;
  etag?: string;
  lastModified?: string;
}

/** The answers to the range requests of one rebuild, read in file order. */
class Remote {
  private cur?: { reader: BodyReader; boundary?: string; part?: ByteRange; pos: number };
  private maxRanges = MAX_RANGES;
  private validator?: string;
  requests = 0;
  received = 0;
  etag?: string;
  lastModified?: string;

  constructor(private readonly url: string, private readonly runs: Run[], private readonly size: number) {}

  /** Hands bytes [start, start+len) of the file to sink. */
  async read(start: number, len: number, sink: (b: Buffer) => void | Promise<void>): Promise<void> {
    for (;;) {
      const c = this.cur;
      if (c?.part && c.part.start <= start && start + len - 1 <= c.part.end && c.pos <= start) {
        await c.reader.skip(start - c.pos);
        await c.reader.take(len, sink);
        c.pos = start + len;
        return;
      }
      if (c?.part && start > c.part.end) {
        // Past this part: the next one (multipart), or the next request.
        await c.reader.skip(c.part.end + 1 - c.pos);
        const prev = c.part;
        c.part = c.boundary ? await c.reader.nextPart(c.boundary) : undefined;
        if (c.part) {
          if (c.part.start <= prev.end) throw new DeltaMismatch(`${this.url}: the server answered byte ranges out of order`);
          this.checkTotal(c.part);
          c.pos = c.part.start;
          continue;
        }
        // A single range answered to several asked (an object store): one range a request from here on.
        if (!c.boundary) this.maxRanges = 1;
        await this.end(true);
        continue;
      }
      if (c) throw new DeltaMismatch(`${this.url}: the server answered a byte range other than the one asked for`);
      await this.open(start);
    }
  }

  private checkTotal(r: ByteRange): void {
    if (r.total !== undefined && r.total !== this.size) throw new DeltaMismatch(`${this.url} has ${r.total} bytes, its index says ${this.size}: the index does not match the file`);
    if (r.end >= this.size) throw new DeltaMismatch(`${this.url}: the server answered bytes ${r.start}-${r.end} of a file of ${this.size}`);
  }

  private async open(start: number): Promise<void> {
    const k = this.runs.findIndex((r) => r.start <= start && start < r.end);
    if (k < 0) throw new DeltaMismatch(`${this.url}: internal: offset ${start} is in no run`);
    const asked = [{ start, end: this.runs[k].end }, ...this.runs.slice(k + 1, k + this.maxRanges)];
    const headers: Record<string, string> = { range: rangeHeader(asked) };
    if (this.validator) headers['if-range'] = this.validator;
    this.requests++;
    const { res, href } = await getWith(this.url, headers, [206, 416]);
    if (res.statusCode === 200) throw new WholeBody(res, href);
    if (res.statusCode === 416) {
      res.resume();
      throw new DeltaMismatch(`${this.url}: the server refused the byte ranges of its index (416): the index does not match the file`);
    }
    const etag = typeof res.headers.etag === 'string' ? res.headers.etag : undefined;
    const lm = typeof res.headers['last-modified'] === 'string' ? res.headers['last-modified'] : undefined;
    if (this.requests === 1) {
      this.etag = etag;
      this.lastModified = lm;
      // If-Range needs a strong validator: later answers are ranges of this very file, or the whole new file (200).
      this.validator = etag && !etag.startsWith('W/') ? etag : lm;
    } else if (this.etag !== etag && this.validator === this.etag) {
      res.resume();
      throw new DeltaMismatch(`${this.url} changed during the update`);
    }
    const reader = new BodyReader(res, href);
    const boundary = byterangesBoundary(res.headers['content-type']);
    const part = boundary ? await reader.nextPart(boundary) : parseContentRange(res.headers['content-range']);
    if (!part) {
      res.destroy();
      throw new DeltaMismatch(`${this.url}: a 206 answer without a valid Content-Range`);
    }
    this.checkTotal(part);
    if (part.start > start || part.end < start) {
      res.destroy();
      throw new DeltaMismatch(`${this.url}: the server answered bytes ${part.start}-${part.end} to a request for ${headers.range.slice(6)}`);
    }
    this.cur = { reader, boundary, part, pos: part.start };
  }

  /** Ends the current answer: its rest (a closing delimiter) read when `drain`, else dropped with the connection. */
  async end(drain = false): Promise<void> {
    const c = this.cur;
    if (!c) return;
    this.cur = undefined;
    if (drain) await c.reader.finish();
    else c.reader.close();
    this.received += c.reader.received;
  }
}

/** Bytes gathered before one write (and one read of neighbouring local segments). */
const BLOCK = 4 << 20;

/**
 * The output: written sequentially in BLOCK-sized writes; local spans are read straight into its block (no copy).
 * With `whole`, the sha256 of the file is taken as blocks are written.
 */
class Output {
  private buf = Buffer.allocUnsafe(BLOCK);
  private used = 0;
  private pos = 0;
  readonly whole?: Hash;
  constructor(readonly fh: fsp.FileHandle, whole: boolean) {
    if (whole) this.whole = createHash('sha256');
  }

  /** Copies b in. */
  async put(b: Buffer): Promise<void> {
    while (b.length) {
      const n = b.copy(this.buf, this.used);
      this.used += n;
      b = b.subarray(n);
      if (this.used === BLOCK) await this.flush();
    }
  }

  /** n bytes (at most BLOCK) of the block to fill in place; commit(n) adds them. */
  async reserve(n: number): Promise<Buffer> {
    if (this.used + n > BLOCK) await this.flush();
    return this.buf.subarray(this.used, this.used + n);
  }

  commit(n: number): void {
    this.used += n;
  }

  async flush(): Promise<void> {
    if (!this.used) return;
    const c = this.buf.subarray(0, this.used);
    this.whole?.update(c);
    await this.fh.write(c, 0, c.length, this.pos);
    this.pos += c.length;
    this.used = 0;
  }
}

/** How many segments from i on can be read from their local file in one read: same file, contiguous, at most BLOCK bytes (at least 1). */
function localSpan(idx: ChunkIndex, plan: Plan, i: number): number {
  const first = plan.sources[i]!;
  let n = 1;
  let bytes = idx.segments[i].clen;
  for (let j = i + 1; j < idx.segments.length; j++) {
    const s = plan.sources[j];
    if (!s || s.file !== first.file || s.at !== first.at + bytes || bytes + idx.segments[j].clen > BLOCK) break;
    bytes += idx.segments[j].clen;
    n++;
  }
  return n;
}

const segmentHash = (b: Buffer, n: number): Buffer => createHash('sha256').update(b).digest().subarray(0, n);

/** How rebuild() checks and reports. */
export interface RebuildOptions {
  /**
   * Check the sha256 of the whole file here (default true). A caller that hashes the file anyway (verifying its
   * signature does) passes false and compares that sha256 with the index's itself: one pass over the file less.
   */
  wholeHash?: boolean;
  progress?: (reused: number, downloaded: number) => void;
}

/**
 * Writes the file of idx into dest (created exclusively) as plan says, with its segment hashes and (unless
 * told otherwise) its sha256 checked; throws DeltaMismatch when it cannot. A 200 to a range request is saved as the file.
 */
export async function rebuild(url: string, dest: string, idx: ChunkIndex, plan: Plan, o: RebuildOptions = {}): Promise<RebuildResult> {
  const remote = new Remote(url, plan.runs, idx.fileSize);
  const fh = await fsp.open(dest, 'wx', 0o600);
  const out = new Output(fh, o.wholeHash ?? true);
  const locals = new Map<string, fsp.FileHandle>();
  const rbuf = Buffer.allocUnsafe(1 << 20);
  let reused = 0;
  let fetched = 0;
  const wrong = (i: number): DeltaMismatch => {
    const src = plan.sources[i];
    return src ? new DeltaMismatch(`the cached segment at ${src.at} of ${src.file} is corrupt`, src.file) : new DeltaMismatch(`${url}: segment ${i} does not match its index`);
  };
  try {
    await out.put(idx.head);
    for (let i = 0; i < idx.segments.length; ) {
      const seg = idx.segments[i];
      const src = plan.sources[i];
      if (src && seg.clen <= BLOCK) {
        // Neighbouring segments of one local file: one read, each segment's hash checked in memory.
        const n = localSpan(idx, plan, i);
        let len = 0;
        for (let j = i; j < i + n; j++) len += idx.segments[j].clen;
        let fh = locals.get(src.file);
        if (!fh) locals.set(src.file, (fh = await fsp.open(src.file, 'r')));
        const span = await out.reserve(len);
        for (let got = 0; got < len; ) {
          const { bytesRead } = await fh.read(span, got, len - got, src.at + got);
          if (bytesRead === 0) throw new DeltaMismatch(`${src.file} is shorter than its index says`, src.file);
          got += bytesRead;
        }
        for (let j = i, at = 0; j < i + n; at += idx.segments[j].clen, j++) {
          if (!segmentHash(span.subarray(at, at + idx.segments[j].clen), idx.hashLen).equals(idx.segments[j].hash.subarray(0, idx.hashLen))) throw wrong(j);
        }
        out.commit(len);
        reused += len;
        i += n;
      } else {
        const h = createHash('sha256');
        const sink = async (b: Buffer): Promise<void> => {
          h.update(b);
          await out.put(b);
        };
        if (src) {
          let fh = locals.get(src.file);
          if (!fh) locals.set(src.file, (fh = await fsp.open(src.file, 'r')));
          for (let done = 0; done < seg.clen; ) {
            const { bytesRead } = await fh.read(rbuf, 0, Math.min(rbuf.length, seg.clen - done), src.at + done);
            if (bytesRead === 0) throw new DeltaMismatch(`${src.file} is shorter than its index says`, src.file);
            await sink(rbuf.subarray(0, bytesRead));
            done += bytesRead;
          }
          reused += seg.clen;
        } else {
          await remote.read(plan.offsets[i], seg.clen, sink);
          fetched += seg.clen;
        }
        if (!h.digest().subarray(0, idx.hashLen).equals(seg.hash.subarray(0, idx.hashLen))) throw wrong(i);
        i++;
      }
      o.progress?.(reused, fetched);
    }
    await out.put(idx.tail);
    await out.flush();
    await remote.end(true);
    if (out.whole && !out.whole.digest().equals(idx.fileSha256)) throw new DeltaMismatch(`${url}: the rebuilt file does not match its index`);
    return { kind: 'rebuilt', requests: remote.requests, downloaded: remote.received, reused, etag: remote.etag, lastModified: remote.lastModified };
  } catch (err) {
    if (!(err instanceof WholeBody)) throw err;
    // The server ignored Range (or the file changed and If-Range failed): this answer is the whole file.
    await remote.end();
    await fh.close();
    await fsp.rm(dest, { force: true });
    const { save } = await import('../core/fetch.js');
    const size = await save(err.res, dest, err.href);
    const h = err.res.headers;
    return { kind: 'whole', requests: remote.requests, downloaded: remote.received + size, reused: 0, etag: typeof h.etag === 'string' ? h.etag : undefined, lastModified: typeof h['last-modified'] === 'string' ? h['last-modified'] : undefined };
  } finally {
    await remote.end();
    await fh.close().catch(() => undefined);
    for (const l of locals.values()) await l.close();
  }
}
