import { Readable, Writable } from 'node:stream';
import { BLOCK, decodeHeader, decodePaxRecords, decodeString, padding, type TarHeader } from './tar-header.js';

/** The longest entry name or link target cairn reads, in bytes (PATH_MAX less its NUL): longer ones are refused, never cut. */
export const MAX_TAR_NAME = 4095;
/** The longest component of an entry name, in bytes (NAME_MAX). */
export const MAX_TAR_COMPONENT = 255;
/** The largest size the 11 octal digits of a ustar header hold: beyond it only the PAX record can say. */
const USTAR_SIZE_MAX = 0o77777777777;
/** The largest PAX or GNU long-name record read (they are held in memory whole). */
const MAX_LONG_HEADER = 4 * 1024 * 1024;
const HEADER_ONLY = new Set(['directory', 'symlink', 'link', 'character-device', 'block-device', 'fifo']);
const LONG = new Set(['pax-header', 'pax-global-header', 'gnu-long-path', 'gnu-long-link-path']);
/** PAX records that change how an archive is cut into entries: never taken from a global header. */
const STRUCTURAL = ['path', 'linkpath', 'size'];

/** A tar that readers could read two ways, or no tar at all; the extract fails with it (a plain Error: a format error). */
class TarFormatError extends Error {}

function nameProblem(what: string, v: string | null | undefined, components: boolean): string | undefined {
  if (v == null) return undefined;
  if (v.includes('\0')) return `${what} ${JSON.stringify(v.slice(0, 80))} contains a NUL byte`;
  const len = Buffer.byteLength(v);
  if (len > MAX_TAR_NAME) return `${what} of ${len} bytes is longer than ${MAX_TAR_NAME} (${JSON.stringify(v.slice(0, 40))}...)`;
  if (components && v.split('/').some((c) => Buffer.byteLength(c) > MAX_TAR_COMPONENT)) return `${what} ${JSON.stringify(v.slice(0, 80))} has a component longer than ${MAX_TAR_COMPONENT} bytes`;
  return undefined;
}

/** Why a decoded header must be refused (readers could disagree on it), or undefined. */
function headerProblem(h: TarHeader, ustarSize: number | null | undefined): string | undefined {
  const name = JSON.stringify(h.name.slice(0, 200));
  const pax = h.pax ?? {};
  for (const k of Object.keys(pax)) {
    if (k.startsWith('GNU.sparse.')) return `entry ${name} is a sparse file (PAX ${k}), which cairn does not read`;
  }
  for (const k of ['size', 'uid', 'gid']) {
    if (pax[k] !== undefined && !/^[0-9]+$/.test(String(pax[k]))) return `entry ${name} has an invalid PAX ${k} ${JSON.stringify(String(pax[k]).slice(0, 40))}`;
  }
  for (const k of ['mtime', 'atime', 'ctime']) {
    if (pax[k] !== undefined && !/^-?[0-9]+(\.[0-9]+)?$/.test(String(pax[k]))) return `entry ${name} has an invalid PAX ${k} ${JSON.stringify(String(pax[k]).slice(0, 40))}`;
  }
  // A reader that ignores the PAX size (or the ustar one) would take the data for headers, or headers for data.
  if (pax.size !== undefined && ustarSize !== undefined) {
    const p = Number(pax.size);
    if (p !== ustarSize && p <= USTAR_SIZE_MAX) return `entry ${name} has a PAX size (${p}) that disagrees with its header (${ustarSize})`;
  }
  if (HEADER_ONLY.has(h.type ?? '') && (h.size ?? 0) !== 0) return `entry ${name} is a ${h.type} with ${h.size} bytes of data`;
  return nameProblem('entry name', h.name, true) ?? nameProblem('link name', h.linkname, h.type === 'link');
}

function allZero(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

/** The content of one entry, as the extract hands it out: a stream of its bytes, with its header. */
export class TarEntryStream extends Readable {
  /** @internal */
  constructor(readonly header: TarHeader, private readonly owner: TarExtract) {
    super({ highWaterMark: 64 * 1024 });
  }

  override _read(): void {
    this.owner.entryWants(this);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.owner.entryClosed(this, err);
    cb(err);
  }
}

/** Called when the consumer is done with an entry (an error ends the extract). */
export type NextEntry = (err?: Error | null) => void;

/**
 * A strict streaming tar reader, written to like any Writable. Each entry is emitted as
 * `'entry' (header, stream, next)` and the next header is read only once `next()` is called; or iterate it
 * (`for await (const entry of extract)`), each entry a TarEntryStream. Headers follow GNU and PAX long names
 * (global PAX records merged into per-entry ones), and xattr values are bytes (see tar-header.ts).
 *
 * Where readers could disagree (which is how a file shows one thing to a checker and another to an extractor),
 * it fails: a PAX size that disagrees with the header's, data on a header-only entry (a directory, link or
 * device), invalid PAX numbers or size fields, sparse files, global PAX records of path or size, names or link
 * targets over MAX_TAR_NAME bytes or with a NUL, components over MAX_TAR_COMPONENT, an end-of-archive block that
 * is not all zeros, and anything but zeros after it (GNU tar stops there). Errors are plain Errors (format errors).
 */
export class TarExtract extends Writable {
  private readonly queue: Buffer[] = [];
  private buffered = 0;
  /** Bytes of the current entry's body still to hand to `stream`. */
  private body = 0;
  /** Bytes of padding to pass over. */
  private skip = 0;
  /** The PAX or GNU long-name header whose record is being read. */
  private long: TarHeader | null = null;
  private stream: TarEntryStream | null = null;
  /** The stream said it is full: wait for it to read. */
  private full = false;
  /** An entry was emitted and its next() not called yet. */
  private locked = false;
  /** The end-of-archive block was read: only zeros may follow. */
  private ended = false;
  /** Destroyed (failed, or done): nothing more is read. */
  private stopped = false;
  private running = false;
  private again = false;
  private callback: ((err?: Error | null) => void) | null = null;
  private pax: Record<string, string | Buffer> | null = null;
  private paxGlobal: Record<string, string | Buffer> | null = null;
  private gnuLongPath: string | null = null;
  private gnuLongLinkPath: string | null = null;
  private unclaimed: [TarEntryStream, NextEntry] | null = null;

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.callback = cb;
    if (chunk.length) {
      this.queue.push(chunk);
      this.buffered += chunk.length;
    }
    this.update();
  }

  override _final(cb: (err?: Error | null) => void): void {
    const whole = this.ended || (this.body === 0 && this.skip === 0 && this.long === null && this.buffered === 0);
    cb(whole ? null : new Error('Unexpected end of data'));
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.stopped = true;
    const s = this.stream;
    this.stream = null;
    if (s) s.destroy(err ?? undefined);
    this.release();
    cb(err);
  }

  /** @internal An entry stream wants data. */
  entryWants(s: TarEntryStream): void {
    if (s !== this.stream || !this.full) return;
    this.full = false;
    this.update();
  }

  /** @internal An entry stream was destroyed: before its end, that ends the extract (with its error, if any). */
  entryClosed(s: TarEntryStream, err: Error | null): void {
    if (s !== this.stream) return;
    this.stream = null;
    this.destroy(err ?? undefined);
  }

  /** Entries one at a time; each must be read (or resumed) before the next comes. */
  [Symbol.asyncIterator](): AsyncIterableIterator<TarEntryStream> {
    const it = iterate(this);
    const u = this.unclaimed;
    this.unclaimed = null;
    if (u) this.emit('entry', u[0].header, ...u);
    return it;
  }

  private release(err: Error | null = null): void {
    const cb = this.callback;
    this.callback = null;
    cb?.(err);
  }

  private fail(err: Error): false {
    if (!this.stopped) this.destroy(err);
    return false;
  }

  /** n bytes from the front (n <= buffered), copied only when they span chunks. */
  private shift(n: number): Buffer {
    if (this.queue[0].length >= n) return this.shiftUpTo(n);
    const parts: Buffer[] = [];
    for (let need = n; need > 0; need -= parts[parts.length - 1].length) parts.push(this.shiftUpTo(need));
    return Buffer.concat(parts, n);
  }

  /** Up to n bytes from the front, without copying. */
  private shiftUpTo(n: number): Buffer {
    const first = this.queue[0];
    if (first.length <= n) {
      this.queue.shift();
      this.buffered -= first.length;
      return first;
    }
    this.queue[0] = first.subarray(n);
    this.buffered -= n;
    return first.subarray(0, n);
  }

  private update(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    let hungry: boolean;
    try {
      do {
        this.again = false;
        hungry = this.step();
      } while (this.again && !this.stopped);
    } finally {
      this.running = false;
    }
    // Outside the loop: the callback may hand over the next chunk at once (a _write within this call).
    if (hungry) this.release();
  }

  /** Reads what the buffer holds; false when it must wait for a consumer (or failed), true when it wants more input. */
  private step(): boolean {
    while (this.buffered > 0) {
      if (this.stopped) return false;
      if (this.ended) {
        const rest = this.shift(this.buffered);
        if (!allZero(rest)) return this.fail(new TarFormatError('data after the end-of-archive block'));
      } else if (this.body > 0) {
        if (this.full) return false;
        const s = this.stream!;
        const chunk = this.shiftUpTo(this.body);
        this.body -= chunk.length;
        const more = s.push(chunk);
        if (this.body === 0) {
          this.stream = null;
          this.skip = padding(s.header.size!).length;
          s.push(null);
        } else if (!more) {
          this.full = true;
          return false;
        }
      } else if (this.skip > 0) {
        this.skip -= this.shiftUpTo(this.skip).length;
      } else if (this.long) {
        if (this.buffered < this.long.size!) return true;
        if (!this.readLong(this.long, this.shift(this.long.size!))) return false;
      } else {
        if (this.buffered < BLOCK) return true;
        if (this.locked) return false;
        if (!this.readHeader(this.shift(BLOCK))) return false;
      }
    }
    return !this.stopped;
  }

  private readHeader(block: Buffer): boolean {
    let h: TarHeader | null;
    try {
      h = decodeHeader(block);
    } catch (err) {
      return this.fail(err as Error);
    }
    if (h === null) {
      // tar-stream and checksum tests take any block whose checksum is that of zeros for the end; GNU tar wants zeros.
      if (!allZero(block)) return this.fail(new TarFormatError('a header block that is neither a header nor zeros'));
      this.ended = true;
      return true;
    }
    // A size that does not decode (a high bit set, not base-256) would leave the reader waiting for nothing.
    const size = h.size;
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
      return this.fail(new TarFormatError(`entry ${JSON.stringify(h.name)} has an invalid size field`));
    }
    if (LONG.has(h.type!)) {
      if (size > MAX_LONG_HEADER) return this.fail(new Error('Header exceeds max size'));
      if (size === 0) return this.readLong(h, Buffer.alloc(0));
      this.long = h;
      return true;
    }
    const ustarSize = h.size;
    if (this.gnuLongPath) h.name = this.gnuLongPath;
    if (this.gnuLongLinkPath) h.linkname = this.gnuLongLinkPath;
    this.gnuLongPath = this.gnuLongLinkPath = null;
    const pax = this.pax;
    if (pax) {
      if (pax.path) h.name = String(pax.path);
      if (pax.linkpath) h.linkname = String(pax.linkpath);
      if (pax.size) h.size = parseInt(String(pax.size), 10);
      h.pax = pax;
      this.pax = null;
    }
    if (!(h.size! >= 0) || !Number.isSafeInteger(h.size)) return this.fail(new TarFormatError(`entry ${JSON.stringify(h.name)} has an invalid size`));
    const problem = headerProblem(h, ustarSize);
    if (problem) return this.fail(new TarFormatError(problem));
    const stream = new TarEntryStream(h, this);
    if (h.size === 0) stream.push(null);
    else {
      this.stream = stream;
      this.body = h.size!;
    }
    this.locked = true;
    let called = false;
    const next: NextEntry = (err) => {
      if (called) return;
      called = true;
      this.locked = false;
      if (err) this.fail(err);
      else this.update();
    };
    // An entry read before anyone listens (a write within end(), before the loop that iterates) waits for an iterator.
    if (!this.emit('entry', h, stream, next)) this.unclaimed = [stream, next];
    return true;
  }

  private readLong(h: TarHeader, buf: Buffer): boolean {
    this.long = null;
    this.skip = padding(buf.length).length;
    try {
      if (h.type === 'gnu-long-path') this.gnuLongPath = decodeString(buf, 0, buf.length);
      else if (h.type === 'gnu-long-link-path') this.gnuLongLinkPath = decodeString(buf, 0, buf.length);
      else if (h.type === 'pax-header') this.pax = Object.assign({}, this.paxGlobal, decodePaxRecords(buf));
      else {
        const g = decodePaxRecords(buf);
        const bad = STRUCTURAL.find((k) => g[k] !== undefined);
        if (bad) return this.fail(new TarFormatError(`a global PAX header sets ${bad}, which cairn does not accept`));
        this.paxGlobal = Object.assign({}, this.paxGlobal, g);
      }
    } catch (err) {
      return this.fail(err as Error);
    }
    return true;
  }
}

/** Iterates an extract's entries: the next header is read when the next entry is asked for. */
function iterate(ex: TarExtract): AsyncIterableIterator<TarEntryStream> {
  let error: Error | null = null;
  let waiting: { resolve(r: IteratorResult<TarEntryStream>): void; reject(e: Error): void } | null = null;
  let ready: TarEntryStream | null = null;
  let next: NextEntry | null = null;
  // Node marks a destroyed stream closed (and errored) at once, and emits 'error' and 'close' a tick later.
  const failure = (): Error | null => error ?? ex.errored;
  const settle = (): void => {
    if (!waiting) return;
    const w = waiting;
    waiting = null;
    const err = failure();
    if (err) w.reject(err);
    else w.resolve({ value: undefined, done: true });
  };
  const consumed = (err: Error | null): void => {
    const n = next;
    next = null;
    n?.(err);
  };
  ex.on('entry', (_h: TarHeader, s: TarEntryStream, n: NextEntry) => {
    next = n;
    s.on('error', () => undefined); // the extract's own error says it
    if (waiting) {
      const w = waiting;
      waiting = null;
      w.resolve({ value: s, done: false });
    } else ready = s;
  });
  ex.on('error', (err: Error) => (error = err));
  ex.on('close', () => {
    consumed(error);
    settle();
  });
  const end = (err: Error | null): Promise<IteratorResult<TarEntryStream>> => {
    ex.destroy(err ?? undefined);
    consumed(err);
    return new Promise((resolve, reject) => {
      const done = (): void => (err ? reject(err) : resolve({ value: undefined, done: true }));
      if (ex.closed) done();
      else ex.once('close', done);
    });
  };
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    next: () => new Promise<IteratorResult<TarEntryStream>>((resolve, reject) => {
      if (failure()) return reject(failure());
      if (ready) {
        const s = ready;
        ready = null;
        return resolve({ value: s, done: false });
      }
      waiting = { resolve, reject };
      consumed(null);
      if (ex.closed) settle();
    }),
    return: () => end(null),
    throw: (err: Error) => end(err),
  };
}

/** A strict tar reader (see TarExtract), for every reader of untrusted tars. */
export function strictTarExtract(): TarExtract {
  return new TarExtract();
}
