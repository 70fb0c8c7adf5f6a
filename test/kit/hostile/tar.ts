// Hand-written tar, independent of the code under test: every field as given, so that a fixture can lie.
import { createHash } from 'node:crypto';
import zlib from 'node:zlib';

/** One entry of a hand-made tar. Names and link names are written exactly as given (PAX records when over 100 bytes). */
export interface RawEntry {
  name: string;
  type?: 'file' | 'dir' | 'symlink' | 'link' | 'char' | 'block' | 'fifo';
  body?: string | Buffer;
  linkname?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  devmajor?: number;
  devminor?: number;
  /** PAX records written in an 'x' header before the entry (as given, even when they contradict the header). */
  pax?: Record<string, string>;
  /** The size field to write instead of the body's length. */
  size?: number;
  /** The name as a GNU 'L' long-name record (the header's own name field then holds `name` cut to 100 bytes). */
  gnuLongName?: string;
  /** The link name as a GNU 'K' record. */
  gnuLongLink?: string;
}

const TYPEFLAG: Record<NonNullable<RawEntry['type']>, string> = { file: '0', link: '1', symlink: '2', char: '3', block: '4', dir: '5', fifo: '6' };

function octal(buf: Buffer, off: number, len: number, v: number): void {
  buf.write(v.toString(8).padStart(len - 1, '0') + '\0', off, len, 'latin1');
}

/** One 512-byte ustar header block with a correct checksum. */
export function header(f: { name: string; typeflag: string; size: number; linkname?: string; mode?: number; uid?: number; gid?: number; mtime?: number; devmajor?: number; devminor?: number }): Buffer {
  const b = Buffer.alloc(512);
  Buffer.from(f.name, 'utf8').copy(b, 0, 0, 100);
  octal(b, 100, 8, f.mode ?? 0o644);
  octal(b, 108, 8, f.uid ?? 0);
  octal(b, 116, 8, f.gid ?? 0);
  octal(b, 124, 12, f.size);
  octal(b, 136, 12, f.mtime ?? 1_600_000_000);
  b.write(f.typeflag, 156, 1, 'latin1');
  if (f.linkname) Buffer.from(f.linkname, 'utf8').copy(b, 157, 0, 100);
  b.write('ustar\0' + '00', 257, 8, 'latin1');
  octal(b, 329, 8, f.devmajor ?? 0);
  octal(b, 337, 8, f.devminor ?? 0);
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += b[i];
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
  return b;
}

/** Data padded to whole blocks. */
export function padded(data: Buffer): Buffer {
  const r = data.length % 512;
  return r ? Buffer.concat([data, Buffer.alloc(512 - r)]) : data;
}

/** PAX records ('<len> <key>=<value>\n', the length counting itself). */
export function paxRecords(records: Record<string, string>): Buffer {
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(records)) {
    const rest = Buffer.from(` ${k}=${v}\n`, 'utf8');
    let len = rest.length + 1;
    while (String(len).length + rest.length !== len) len = String(len).length + rest.length;
    parts.push(Buffer.from(String(len)), rest);
  }
  return Buffer.concat(parts);
}

/** An extended header entry ('x' per file, 'g' global, 'L'/'K' GNU long names) carrying data. */
export function extHeader(typeflag: 'x' | 'g' | 'L' | 'K', data: Buffer): Buffer {
  return Buffer.concat([header({ name: typeflag === 'L' || typeflag === 'K' ? '././@LongLink' : 'PaxHeader', typeflag, size: data.length }), padded(data)]);
}

/** The blocks of one entry (extended headers first), without end-of-archive blocks. */
export function entryBlocks(e: RawEntry): Buffer {
  const type = e.type ?? 'file';
  const body = Buffer.from(e.body ?? '');
  const parts: Buffer[] = [];
  const pax: Record<string, string> = {};
  if (Buffer.byteLength(e.name) > 100 && !e.gnuLongName) pax.path = e.name;
  if (e.linkname && Buffer.byteLength(e.linkname) > 100 && !e.gnuLongLink) pax.linkpath = e.linkname;
  Object.assign(pax, e.pax ?? {});
  if (e.gnuLongName) parts.push(extHeader('L', Buffer.from(e.gnuLongName + '\0')));
  if (e.gnuLongLink) parts.push(extHeader('K', Buffer.from(e.gnuLongLink + '\0')));
  if (Object.keys(pax).length) parts.push(extHeader('x', paxRecords(pax)));
  const cut = (s: string): string => (Buffer.byteLength(s) <= 100 ? s : s.slice(0, 100));
  parts.push(header({
    name: cut(e.name),
    typeflag: TYPEFLAG[type],
    size: e.size ?? (type === 'file' ? body.length : 0),
    linkname: e.linkname === undefined ? undefined : cut(e.linkname),
    mode: e.mode ?? (type === 'dir' ? 0o755 : type === 'symlink' ? 0o777 : 0o644),
    uid: e.uid,
    gid: e.gid,
    mtime: e.mtime,
    devmajor: e.devmajor,
    devminor: e.devminor,
  }));
  if (type === 'file' && body.length) parts.push(padded(body));
  return Buffer.concat(parts);
}

/** The two zero blocks that end an archive. */
export const END = Buffer.alloc(1024);

/** A whole tar of entries (with its end-of-archive blocks unless end is false). */
export function tarOf(entries: RawEntry[], opts: { end?: boolean } = {}): Buffer {
  return Buffer.concat([...entries.map(entryBlocks), ...(opts.end === false ? [] : [END])]);
}

/** The entries of a tar without its end-of-archive blocks and padding (to append more entries to it). */
export function tarBody(tar: Buffer): Buffer {
  let off = 0;
  while (off + 512 <= tar.length && tar.subarray(off, off + 512).some((x) => x !== 0)) {
    const sizeField = tar.toString('latin1', off + 124, off + 136).replace(/[\0 ]+$/, '');
    const size = parseInt(sizeField, 8) || 0;
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return tar.subarray(0, off);
}

/** sha256:hex of bytes. */
export function sha(b: Uint8Array | string): string {
  return 'sha256:' + createHash('sha256').update(b).digest('hex');
}

/** gzip of bytes (deterministic). */
export function gz(b: Buffer): Buffer {
  return zlib.gzipSync(b, { level: 6 });
}

/**
 * A gzip bomb: a tar header announcing a file of `size` bytes of zeros, then that many zeros as gzip members of
 * 16 MiB each (one member compressed once and repeated: about 16 KiB of gzip per 16 MiB), so it is made at once.
 */
export function gzipBomb(size: number): Buffer {
  const step = 16 << 20;
  const member = zlib.gzipSync(Buffer.alloc(step), { level: 9 });
  const parts = [zlib.gzipSync(header({ name: 'zeros', typeflag: '0', size }))];
  for (let n = 0; n < size; n += step) parts.push(member);
  return Buffer.concat(parts);
}
