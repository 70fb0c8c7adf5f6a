import type { Readable } from 'node:stream';
import { BadInputError } from './errors.js';

/*
 * Reading the answers to HTTP range requests (RFC 9110 §14): a 206 with one Content-Range, or a
 * multipart/byteranges body whose parts each carry theirs. The body is pulled in exact byte counts, in
 * order, in constant memory (part headers are bounded; part bodies are handed on chunk by chunk).
 */

/** Bytes of part headers (all the lines of one part's header) read before the answer is refused. */
const HEADER_LIMIT = 16 << 10;

/** One byte range of a resource: first and last byte (inclusive), and the resource's size when given. */
export interface ByteRange {
  start: number;
  end: number;
  total?: number;
}

/** Parses a Content-Range value (`bytes 0-99/1234` or `bytes 0-99/*`); undefined when malformed. */
export function parseContentRange(v: string | undefined): ByteRange | undefined {
  const m = /^\s*bytes\s+(\d{1,15})-(\d{1,15})\/(\d{1,15}|\*)\s*$/i.exec(v ?? '');
  if (!m) return undefined;
  const start = Number(m[1]);
  const end = Number(m[2]);
  if (end < start) return undefined;
  return { start, end, ...(m[3] === '*' ? {} : { total: Number(m[3]) }) };
}

/** The boundary of a multipart/byteranges Content-Type, or undefined when the type is another. */
export function byterangesBoundary(contentType: string | undefined): string | undefined {
  const m = /^\s*multipart\/byteranges\s*;(.*)$/i.exec(contentType ?? '');
  if (!m) return undefined;
  const b = /(?:^|;)\s*boundary\s*=\s*(?:"([^"]{1,200})"|([^;\s]{1,200}))/i.exec(m[1]);
  return b ? (b[1] ?? b[2]) : undefined;
}

/** The Range header value for ranges ([start, end) half-open, sorted). */
export function rangeHeader(ranges: { start: number; end: number }[]): string {
  return 'bytes=' + ranges.map((r) => `${r.start}-${r.end - 1}`).join(',');
}

/** Pulls a body in exact byte counts, in order. */
export class BodyReader {
  private readonly it: AsyncIterator<Buffer>;
  private buf: Buffer = Buffer.alloc(0);
  private ended = false;
  /** Bytes of the body received so far. */
  received = 0;

  constructor(private readonly src: Readable, private readonly what: string) {
    this.it = src[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  private async fill(): Promise<void> {
    if (this.buf.length || this.ended) return;
    const r = await this.it.next();
    if (r.done) this.ended = true;
    else {
      this.buf = r.value;
      this.received += r.value.length;
    }
  }

  private short(n: number): BadInputError {
    return new BadInputError(`${this.what}: the answer ended ${n} bytes early`, { hint: 'try again; if it persists, the server or the network is at fault' });
  }

  /** Hands the next n bytes to sink, chunk by chunk (each chunk only valid during the call). */
  async take(n: number, sink: (b: Buffer) => void | Promise<void>): Promise<void> {
    while (n > 0) {
      await this.fill();
      if (!this.buf.length) throw this.short(n);
      const c = this.buf.length <= n ? this.buf : this.buf.subarray(0, n);
      this.buf = this.buf.subarray(c.length);
      n -= c.length;
      await sink(c);
    }
  }

  /** Drops the next n bytes. */
  async skip(n: number): Promise<void> {
    await this.take(n, () => undefined);
  }

  /** The next line without its CR LF (or LF); throws past max bytes or at the end of the body. */
  async line(max: number): Promise<string> {
    const parts: Buffer[] = [];
    let size = 0;
    for (;;) {
      await this.fill();
      if (!this.buf.length) throw new BadInputError(`${this.what}: the multipart answer ended inside a part header`, { hint: 'the server is misconfigured' });
      const nl = this.buf.indexOf(10);
      const c = nl < 0 ? this.buf : this.buf.subarray(0, nl);
      size += c.length;
      if (size > max) throw new BadInputError(`${this.what}: a multipart part header is longer than ${max} bytes`, { hint: 'the server is misconfigured' });
      parts.push(c);
      this.buf = nl < 0 ? Buffer.alloc(0) : this.buf.subarray(nl + 1);
      if (nl >= 0) break;
    }
    return Buffer.concat(parts).toString('latin1').replace(/\r$/, '');
  }

  /**
   * The next part of a multipart/byteranges body: its Content-Range, with the reader at its first byte; or
   * undefined at the closing delimiter. The bytes of the previous part must have been read.
   */
  async nextPart(boundary: string): Promise<ByteRange | undefined> {
    let budget = HEADER_LIMIT;
    const next = async (): Promise<string> => {
      const l = await this.line(budget);
      budget -= l.length + 2;
      return l;
    };
    let l = await next();
    while (l !== `--${boundary}` && l !== `--${boundary}--`) l = await next();
    if (l.endsWith('--') && l === `--${boundary}--`) return undefined;
    let range: ByteRange | undefined;
    for (l = await next(); l !== ''; l = await next()) {
      const m = /^content-range\s*:(.*)$/i.exec(l);
      if (m) range = parseContentRange(m[1]);
    }
    if (!range) throw new BadInputError(`${this.what}: a multipart part has no valid Content-Range`, { hint: 'the server is misconfigured' });
    return range;
  }

  /** Reads the rest of the body when it is short (a closing delimiter), so the server finishes the request; else drops it. */
  async finish(limit = 64 << 10): Promise<void> {
    let left = limit - this.buf.length;
    this.buf = Buffer.alloc(0);
    while (!this.ended && left >= 0) {
      await this.fill();
      left -= this.buf.length;
      this.buf = Buffer.alloc(0);
    }
    if (!this.ended) this.src.destroy();
  }

  /** Stops reading: the rest of the body is dropped with its connection. */
  close(): void {
    this.src.destroy();
  }
}
