/**
 * The tar header codec: ustar header blocks (with GNU tar's base-256 numbers) and PAX extended header records,
 * binary-safe (xattr values are raw bytes). The writer's bytes are those of the tar-stream based writer cairn
 * had before (image IDs depend on them: test/unit/layer/tar-golden.test.ts holds their digests); the decoder reads
 * numbers and names as tar-stream did, and leaves strictness to the reader (tar-read.ts).
 */

/** A tar entry type, by the names tar-stream gave them. */
export type TarType =
  | 'file' | 'link' | 'symlink' | 'character-device' | 'block-device' | 'directory' | 'fifo' | 'contiguous-file'
  | 'pax-header' | 'pax-global-header' | 'gnu-long-path' | 'gnu-long-link-path';

/** A tar header: what an entry's ustar block and PAX records say; xattr values in `pax` are raw bytes. */
export interface TarHeader {
  name: string;
  type?: TarType | null;
  /** Permission bits (file type bits are masked off when encoding). */
  mode?: number | null;
  uid?: number | null;
  gid?: number | null;
  size?: number | null;
  mtime?: Date;
  linkname?: string | null;
  uname?: string;
  gname?: string;
  devmajor?: number | null;
  devminor?: number | null;
  /** The entry's PAX records (global ones merged in), as read; extra records to write (after path and linkpath). */
  pax?: Record<string, string | Buffer> | null;
}

/** The PAX record prefix of an extended attribute (as GNU tar, Go and containerd write them). */
export const XATTR_PAX_PREFIX = 'SCHILY.xattr.';

/** The size of a tar block. */
export const BLOCK = 512;

const FLAGS: Record<string, number> = {
  file: 0x30, link: 0x31, symlink: 0x32, 'character-device': 0x33, 'block-device': 0x34, directory: 0x35, fifo: 0x36,
  'contiguous-file': 0x37, 'pax-header': 0x78, 'pax-global-header': 0x67, 'gnu-long-link-path': 0x4b, 'gnu-long-path': 0x4c,
};
const TYPES: Record<number, TarType> = {
  0: 'file', 0x30: 'file', 0x31: 'link', 0x32: 'symlink', 0x33: 'character-device', 0x34: 'block-device', 0x35: 'directory',
  0x36: 'fifo', 0x37: 'contiguous-file', 0x78: 'pax-header', 0x67: 'pax-global-header', 0x4b: 'gnu-long-link-path',
  0x4c: 'gnu-long-path', 0x4e: 'gnu-long-path',
};
const USTAR_MAGIC = Buffer.from('ustar\x0000', 'latin1');
const GNU_MAGIC = Buffer.from('ustar  \x00', 'latin1');
/** The largest value 11 octal digits hold (a size or mtime field in octal). */
const OCTAL_11 = 8 ** 11 - 1;

/** The zeros that pad size bytes of data to whole blocks. */
export function padding(size: number): Buffer {
  const r = size % BLOCK;
  return r ? Buffer.alloc(BLOCK - r) : EMPTY;
}
const EMPTY = Buffer.alloc(0);

/** Writes value as `width` octal digits and a space; all sevens when it does not fit (as tar-stream did). */
function octal(buf: Buffer, off: number, width: number, value: number): void {
  const fits = value < 8 ** width;
  for (let i = width - 1; i >= 0; i--) {
    buf[off + i] = fits ? 0x30 + (value % 8) : 0x37;
    value = Math.floor(value / 8);
  }
  buf[off + width] = 0x20;
}

/** Writes an ASCII string at off (the caller has checked that it is ASCII and fits). */
function ascii(buf: Buffer, off: number, s: string): void {
  for (let i = 0; i < s.length; i++) buf[off + i] = s.charCodeAt(i);
}

/** Writes a 12-byte number field: 11 octal digits and a space, or GNU base-256 when it does not fit. */
function number12(buf: Buffer, off: number, value: number): void {
  if (value >= 0 && value <= OCTAL_11) return octal(buf, off, 11, value);
  // Base-256: a leading 0x80 (0xff for a negative number), then the two's complement, big-endian.
  let v = BigInt(value);
  buf[off] = value < 0 ? 0xff : 0x80;
  for (let i = 11; i > 0; i--) {
    buf[off + i] = Number(BigInt.asUintN(8, v));
    v >>= 8n;
  }
}

function checksum(block: Buffer, off = 0): number {
  let sum = 8 * 0x20;
  for (let i = off; i < off + 148; i++) sum += block[i];
  for (let i = off + 156; i < off + BLOCK; i++) sum += block[i];
  return sum;
}

/** Splits an ASCII name into ustar prefix (at most 155 bytes) and name (at most 100), at the first slash that fits. */
function splitName(name: string): [string, string] | null {
  if (name.length <= 100) return ['', name];
  for (let i = name.indexOf('/'); i >= 0; i = name.indexOf('/', i + 1)) {
    if (name.length - i - 1 > 100) continue;
    // An empty prefix cannot be told from none (readers would drop the leading slash).
    return i === 0 || i > 155 ? null : [name.slice(0, i), name.slice(i + 1)];
  }
  return null;
}

/**
 * The ustar block of a header, or null when its name or link name does not fit one (a name that is not ASCII,
 * cannot be split into prefix and name, or a link name over 100 bytes): those take PAX records.
 */
export function encodeHeader(h: TarHeader): Buffer | null {
  const buf = Buffer.alloc(BLOCK);
  return writeHeader(buf, 0, h) ? buf : null;
}

/** Zeros for Uint8Array.prototype.fill, a builtin (Buffer#fill is a call into C++, dear for a few hundred bytes). */
export function fillZeros(buf: Buffer, from: number, to: number): void {
  Uint8Array.prototype.fill.call(buf, 0, from, to);
}

/**
 * Writes encodeHeader's block at buf[off, off + 512) (straight into a caller's buffer: no allocation); false,
 * with buf untouched, when the header does not fit a ustar block.
 */
export function writeHeader(buf: Buffer, off: number, h: TarHeader): boolean {
  // Only ASCII names go into the ustar fields (readers differ on other encodings there); link names are UTF-8.
  for (let i = 0; i < h.name.length; i++) if (h.name.charCodeAt(i) > 0x7f) return false;
  const split = splitName(h.name);
  if (!split || (h.linkname && Buffer.byteLength(h.linkname) > 100)) return false;
  fillZeros(buf, off, off + BLOCK);
  ascii(buf, off, split[1]);
  octal(buf, off + 100, 6, (h.mode ?? 0) & 0o7777);
  octal(buf, off + 108, 6, h.uid ?? 0);
  octal(buf, off + 116, 6, h.gid ?? 0);
  number12(buf, off + 124, h.size ?? 0);
  number12(buf, off + 136, Math.floor((h.mtime?.getTime() ?? 0) / 1000));
  buf[off + 156] = FLAGS[h.type ?? 'file'] ?? 0x30;
  if (h.linkname) buf.write(h.linkname, off + 157, 'utf8');
  USTAR_MAGIC.copy(buf, off + 257);
  if (h.uname) buf.write(h.uname, off + 265, 32, 'utf8');
  if (h.gname) buf.write(h.gname, off + 297, 32, 'utf8');
  octal(buf, off + 329, 6, h.devmajor ?? 0);
  octal(buf, off + 337, 6, h.devminor ?? 0);
  if (split[0]) ascii(buf, off + 345, split[0]);
  octal(buf, off + 148, 6, checksum(buf, off));
  return true;
}

/** Encodes PAX records ('<len> <key>=<value>\n', the length counting itself); values are bytes or UTF-8. */
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

/** Decodes PAX records; xattr values stay bytes, everything else is UTF-8. Throws on a malformed record. */
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

/**
 * The header blocks of an entry as cairn writes them: one ustar block when the header fits it and has no PAX
 * records of its own; else a PAX header ('x', named PaxHeader) holding path, linkpath and the extra records,
 * then the ustar block (its name and link name replaced by PaxHeader when they do not fit).
 */
export function headerBlocks(h: TarHeader): Buffer {
  if (!h.pax) {
    const plain = encodeHeader(h);
    if (plain) return plain;
  }
  const records: [string, string | Buffer][] = [['path', h.name]];
  if (h.linkname) records.push(['linkpath', h.linkname]);
  for (const [k, v] of Object.entries(h.pax ?? {})) records.push([k, v]);
  const body = encodePaxRecords(records);
  const pax = encodeHeader({ name: 'PaxHeader', type: 'pax-header', mode: h.mode, uid: h.uid, gid: h.gid, mtime: h.mtime, size: body.length })!;
  const plain = { ...h, pax: undefined };
  const ustar = encodeHeader(plain) ?? encodeHeader({ ...plain, name: 'PaxHeader', linkname: h.linkname ? 'PaxHeader' : h.linkname })!;
  return Buffer.concat([pax, body, padding(body.length), ustar]);
}

/** A base-256 number (GNU tar): 0x80 then the value, or a two's complement field led by 0xff; null for other lead bytes. */
function parse256(b: Buffer): number | null {
  const positive = b[0] === 0x80;
  if (!positive && b[0] !== 0xff) return null;
  let sum = 0;
  for (let i = 1; i < b.length; i++) sum = sum * 256 + (positive ? b[i] : 0xff - b[i]);
  return positive ? sum : -(sum + 1);
}

/**
 * A number field: base-256 when its first byte has the high bit, else octal after leading spaces and NULs, up
 * to the first space (parsed as parseInt does: NaN when no digit comes first, 0 for an empty field).
 */
function decodeNumber(block: Buffer, off: number, len: number): number | null {
  const f = block.subarray(off, off + len);
  if (f[0] & 0x80) return parse256(f);
  let i = 0;
  while (i < len && f[i] === 0x20) i++;
  let end = f.indexOf(0x20, i);
  if (end < 0) end = len;
  while (i < end && f[i] === 0) i++;
  return i === end ? 0 : parseInt(f.toString('utf8', i, end), 8);
}

/** A NUL-terminated UTF-8 string field. */
export function decodeString(block: Buffer, off: number, len: number): string {
  const nul = block.indexOf(0, off);
  return block.toString('utf8', off, nul < 0 || nul > off + len ? off + len : nul);
}

function startsWith(block: Buffer, off: number, magic: Buffer): boolean {
  return block.compare(magic, 0, magic.length, off, off + magic.length) === 0;
}

/**
 * Decodes a header block: null for a block whose checksum is that of zeros (the end of the archive), an Error for
 * a wrong checksum or a block that is neither ustar nor GNU. The name takes the ustar prefix; a file whose name
 * ends in a slash is a directory (old tars).
 */
export function decodeHeader(block: Buffer): TarHeader | null {
  const sum = checksum(block);
  if (sum === 8 * 0x20) return null;
  if (sum !== decodeNumber(block, 148, 8)) throw new Error('Invalid tar header. Maybe the tar is corrupted or it needs to be gunzipped?');
  let name = decodeString(block, 0, 100);
  if (startsWith(block, 257, USTAR_MAGIC.subarray(0, 6))) {
    if (block[345]) name = decodeString(block, 345, 155) + '/' + name;
  } else if (!startsWith(block, 257, GNU_MAGIC)) {
    throw new Error('Invalid tar header: unknown format.');
  }
  let type: TarType | null = TYPES[block[156]] ?? null;
  if ((block[156] === 0 || block[156] === 0x30) && name.endsWith('/')) type = 'directory';
  const mtime = decodeNumber(block, 136, 12);
  return {
    name,
    mode: decodeNumber(block, 100, 8),
    uid: decodeNumber(block, 108, 8),
    gid: decodeNumber(block, 116, 8),
    size: decodeNumber(block, 124, 12),
    mtime: new Date(1000 * (mtime as number)),
    type,
    linkname: block[157] === 0 ? null : decodeString(block, 157, 100),
    uname: decodeString(block, 265, 32),
    gname: decodeString(block, 297, 32),
    devmajor: decodeNumber(block, 329, 8),
    devminor: decodeNumber(block, 337, 8),
    pax: null,
  };
}
