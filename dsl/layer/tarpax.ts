import { createRequire } from 'node:module';
import path from 'node:path';
import type { Extract, Header, Pack } from 'tar-stream';

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

/** Makes a tar-stream extract keep binary PAX values (see binaryPaxPack); they arrive in header.pax. */
export function binaryPaxExtract(ex: Extract): Extract {
  const e = internal(ex, '_decodeLongHeader');
  const orig = e._decodeLongHeader as (buf: Buffer) => void;
  e._decodeLongHeader = function (this: Internals & { _header: { type: string }; _pax: unknown; _paxGlobal: object | null }, buf: Buffer): void {
    if (this._header.type !== 'pax-header') return orig.call(this, buf);
    this._pax = Object.assign({}, this._paxGlobal ?? {}, decodePaxRecords(buf));
  };
  return ex;
}
