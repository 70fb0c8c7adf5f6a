import { createRequire } from 'node:module';
import path from 'node:path';
import tarStream, { type Extract, type Header, type Pack } from 'tar-stream';

const require = createRequire(import.meta.url);
// tar-stream does not export its header codec; it is the one the pack and extract streams use.
const codec = require(path.join(path.dirname(require.resolve('tar-stream')), 'headers.js')) as {
  encode(h: object): Buffer | null;
};

/** The PAX record prefix of an extended attribute (as GNU tar, Go and containerd write them). */
export const XATTR_PAX_PREFIX = 'SCHILY.xattr.';

/** A tar header with its PAX records; xattr values are raw bytes. */
export type PaxHeaders = Partial<Header> & { name: string; pax?: Record<string, string | Buffer> | null };

/** Encodes PAX records ('<len> <key>=<value>\n', the length counting itself). */
export function encodePaxRecords(records: [string, string | Buffer][]): Buffer {
  const parts: Buffer[] = [];
  for (const [key, value] of records) {
    const body = Buffer.concat([Buffer.from(` ${key}=`), Buffer.isBuffer(value) ? value : Buffer.from(value), Buffer.from('\n')]);
    let len = body.length + 1;
    while (String(len).length + body.length !== len) len = String(len).length + body.length;
    parts.push(Buffer.from(String(len)), body);
  }
  return Buffer.concat(parts);
}

/** Decodes PAX records; xattr values stay bytes, everything else is UTF-8. */
export function decodePaxRecords(buf: Buffer): Record<string, string | Buffer> {
  const out: Record<string, string | Buffer> = {};
  let off = 0;
  while (off < buf.length && buf[off] !== 0) {
    const sp = buf.indexOf(0x20, off);
    const len = sp < 0 ? NaN : Number(buf.toString('latin1', off, sp));
    if (!Number.isInteger(len) || len <= sp - off + 1 || off + len > buf.length || buf[off + len - 1] !== 0x0a) {
      throw new Error('invalid PAX extended header');
    }
    const rec = buf.subarray(sp + 1, off + len - 1);
    const eq = rec.indexOf(0x3d);
    if (eq < 0) throw new Error('invalid PAX record');
    const key = rec.subarray(0, eq).toString();
    const value = rec.subarray(eq + 1);
    out[key] = key.startsWith(XATTR_PAX_PREFIX) ? Buffer.from(value) : value.toString();
    off += len;
  }
  return out;
}

function padding(size: number): Buffer {
  const r = size & 511;
  return Buffer.alloc(r ? 512 - r : 0);
}

type Internals = Record<string, unknown> & { push(b: Buffer): boolean };

function internal(obj: object, method: string): Internals {
  const o = obj as unknown as Internals;
  if (typeof o[method] !== 'function') throw new Error(`tar-stream has no ${method}: this version is not supported`);
  return o;
}

/**
 * Makes a tar-stream pack write PAX headers with binary values: tar-stream encodes PAX values as UTF-8
 * strings, which mangles xattrs such as security.capability.
 */
export function binaryPaxPack(pack: Pack): Pack {
  const p = internal(pack, '_encodePax');
  p._encodePax = function (this: Internals, header: PaxHeaders): void {
    const records: [string, string | Buffer][] = [['path', header.name]];
    if (header.linkname) records.push(['linkpath', header.linkname]);
    for (const [k, v] of Object.entries(header.pax ?? {})) records.push([k, v]);
    const body = encodePaxRecords(records);
    const base = { mode: header.mode, uid: header.uid, gid: header.gid, mtime: header.mtime, devmajor: 0, devminor: 0 };
    this.push(codec.encode({ ...base, name: 'PaxHeader', type: 'pax-header', size: body.length })!);
    this.push(body);
    this.push(padding(body.length));
    const plain = { ...header, pax: undefined };
    // Readers take name and link from the PAX records; the ustar fields keep them when they fit.
    this.push(codec.encode(plain) ?? codec.encode({ ...plain, name: 'PaxHeader', linkname: header.linkname ? 'PaxHeader' : header.linkname })!);
  };
  return pack;
}

/** The longest entry name or link target cairn reads, in bytes (PATH_MAX less its NUL): longer ones are refused, never cut. */
export const MAX_TAR_NAME = 4095;
/** The longest component of an entry name, in bytes (NAME_MAX). */
export const MAX_TAR_COMPONENT = 255;
/** The largest size the 11 octal digits of a ustar header hold: beyond it only the PAX record can say. */
const USTAR_SIZE_MAX = 0o77777777777;
const HEADER_ONLY = new Set(['directory', 'symlink', 'link', 'character-device', 'block-device', 'fifo']);
/** PAX records that change how an archive is cut into entries: never taken from a global header. */
const STRUCTURAL = ['path', 'linkpath', 'size'];

/** A tar that readers could read two ways; the extract fails with it (a tar format error, as tar-stream's own). */
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
function headerProblem(h: PaxHeaders, ustarSize: number | undefined): string | undefined {
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

type ExtractInternals = Internals & {
  _header: { type: string; size?: number } | null;
  _pax: Record<string, string | Buffer> | null;
  _paxGlobal: Record<string, string | Buffer> | null;
  _locked: boolean;
  _missing: number;
  _finished: boolean;
  _buffer: { buffered: number; shift(n: number): Buffer | null };
  _continueWrite(err: Error | null): void;
  destroy(err?: Error): void;
};

/**
 * Makes a tar-stream extract read strictly, where readers could disagree (which is how a file shows one thing to
 * a checker and another to an extractor): binary PAX values are kept (see binaryPaxPack; they arrive in
 * header.pax), and the extract fails on a PAX size that disagrees with the header's, data on a header-only entry
 * (a directory, link or device), invalid PAX numbers, sparse files, global PAX records of path or size, names or
 * link targets over MAX_TAR_NAME bytes or with a NUL, components over MAX_TAR_COMPONENT, and anything but zeros
 * after the end-of-archive block (GNU tar stops there; tar-stream would read on).
 */
export function binaryPaxExtract(ex: Extract): Extract {
  const e = internal(ex, '_decodeLongHeader') as ExtractInternals;
  for (const m of ['_consumeHeader', '_applyLongHeaders', '_final', '_continueWrite', 'emit']) internal(ex, m);
  const self = e as unknown as ExtractInternals & Record<string, (...a: unknown[]) => unknown>;
  const orig = {
    decodeLong: self._decodeLongHeader, consumeHeader: self._consumeHeader, applyLong: self._applyLongHeaders, final: self._final, emit: self.emit,
  };
  e._decodeLongHeader = function (this: ExtractInternals, buf: Buffer): void {
    if (this._header!.type === 'pax-global-header') {
      const g = decodePaxRecords(buf);
      const bad = STRUCTURAL.find((k) => g[k] !== undefined);
      if (bad) throw new TarFormatError(`a global PAX header sets ${bad}, which cairn does not accept`);
      this._paxGlobal = Object.assign({}, this._paxGlobal ?? {}, g);
      return;
    }
    if (this._header!.type !== 'pax-header') return orig.decodeLong.call(this, buf) as void;
    this._pax = Object.assign({}, this._paxGlobal ?? {}, decodePaxRecords(buf));
  };
  // The size field as the ustar header gives it, before a PAX record overrides it.
  let ustarSize: number | undefined;
  e._applyLongHeaders = function (this: ExtractInternals): void {
    ustarSize = this._header?.size ?? undefined;
    orig.applyLong.call(this);
  };
  e.emit = function (this: ExtractInternals, event: string, ...args: unknown[]): boolean {
    if (event === 'entry') {
      const problem = headerProblem(args[0] as PaxHeaders, ustarSize);
      if (problem) {
        // The entry's stream is never handed out: it must not raise the error again, unheard.
        (args[1] as { on(e: string, f: () => void): void }).on('error', () => undefined);
        this.destroy(new TarFormatError(problem));
        return false;
      }
    }
    return orig.emit.call(this, event, ...args) as boolean;
  };
  // Past a zero block (the end of the archive) only zeros may follow; the block itself must be all zeros, not
  // just "checksum as if zero", which is all tar-stream looks at.
  let ended = false;
  let capture = false;
  let block: Buffer | null = null;
  const buffer = e._buffer;
  const shift = buffer.shift.bind(buffer);
  buffer.shift = (n: number): Buffer | null => {
    const b = shift(n);
    if (capture) {
      block = b;
      capture = false;
    }
    return b;
  };
  e._consumeHeader = function (this: ExtractInternals): boolean {
    if (this._locked) return false;
    if (ended) {
      if (allZero(shift(512)!)) return true;
      this._continueWrite(new TarFormatError('data after the end-of-archive block'));
      return false;
    }
    capture = true;
    block = null;
    const ok = orig.consumeHeader.call(this) as boolean;
    capture = false;
    // A size field tar-stream cannot decode (a high bit set, not base-256) leaves the size null, and the
    // extract would wait forever for a body of no length: refused for every header type, PAX ones included.
    const size = this._header?.size;
    if (ok && this._header && (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0)) {
      this._continueWrite(new TarFormatError(`entry ${JSON.stringify(String((this._header as { name?: string }).name ?? ''))} has an invalid size field`));
      return false;
    }
    if (ok && this._header === null && block) {
      if (!allZero(block)) {
        this._continueWrite(new TarFormatError('a header block that is neither a header nor zeros'));
        return false;
      }
      ended = true;
    }
    return ok;
  };
  e._final = function (this: ExtractInternals, cb: (err?: Error | null) => void): void {
    if (!ended || this._missing !== 0) return orig.final.call(this, cb) as void;
    const rest = this._buffer.buffered ? shift(this._buffer.buffered)! : Buffer.alloc(0);
    this._finished = allZero(rest);
    cb(this._finished ? null : new TarFormatError('data after the end-of-archive block'));
  };
  return ex;
}

/** A strict tar-stream extract (see binaryPaxExtract), for every reader of untrusted tars. */
export function strictTarExtract(): Extract {
  return binaryPaxExtract(tarStream.extract());
}
