import { createHash } from 'node:crypto';
import { closeSync, constants as fsc, openSync, readSync } from 'node:fs';
import { Readable } from 'node:stream';
import { CairnError } from '../core/errors.js';
import { Sha256Spill } from '../core/hashworker.js';
import type { EntryType, LayerEntry } from './entry.js';
import { XATTR_PAX_PREFIX, headerBlocks, padding, type TarHeader, type TarType } from './tar-header.js';

const TAR_TYPE: Record<EntryType, TarType> = {
  file: 'file',
  directory: 'directory',
  symlink: 'symlink',
  link: 'link',
  char: 'character-device',
  block: 'block-device',
  fifo: 'fifo',
};

const MAX_USTAR_ID = 0o777777;
// mtimes are clamped to 32 bits, as the tar-stream based writer did (image IDs depend on the bytes).
const MAX_MTIME = 0x7fffffff;

/** The tar header of an entry: no user or group names, no atime or ctime, mtime clamped to timestamp. */
export function headerOf(e: LayerEntry, timestamp?: number): TarHeader {
  if (!e.path || e.path.startsWith('/') || e.path.endsWith('/') || e.path.split('/').some((c) => c === '..' || c === '.' || c === '')) {
    throw new CairnError(`invalid layer entry path ${JSON.stringify(e.path)}`);
  }
  const mtime = Math.min(MAX_MTIME, Math.max(0, Math.floor(timestamp === undefined ? e.mtime : Math.min(e.mtime, timestamp))));
  const h: TarHeader = {
    name: e.type === 'directory' ? e.path + '/' : e.path,
    type: TAR_TYPE[e.type],
    mode: e.mode & 0o7777,
    uid: e.uid,
    gid: e.gid,
    size: e.type === 'file' ? e.size : 0,
    mtime: new Date(mtime * 1000),
    uname: '',
    gname: '',
  };
  if (e.type === 'symlink' || e.type === 'link') h.linkname = e.linkname ?? '';
  if (e.type === 'char' || e.type === 'block') {
    h.devmajor = e.devmajor ?? 0;
    h.devminor = e.devminor ?? 0;
  }
  const pax: Record<string, string | Buffer> = {};
  if (e.uid > MAX_USTAR_ID) pax.uid = String(e.uid);
  if (e.gid > MAX_USTAR_ID) pax.gid = String(e.gid);
  for (const name of Object.keys(e.xattrs ?? {}).sort()) pax[XATTR_PAX_PREFIX + name] = e.xattrs![name];
  if (Object.keys(pax).length) h.pax = pax;
  return h;
}

/** Output is handed on in chunks of this size: headers, small files and pieces of large ones gathered into one buffer. */
const CHUNK = 1 << 20;
const ZEROS = Buffer.alloc(1024);
/** Where the one byte past a file's end is read into, when checking that there is none. */
const ONE = Buffer.alloc(1);
const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK } = fsc;

function changedSize(e: LayerEntry): CairnError {
  return new CairnError(`${e.source} changed size while it was being written into the layer`, {
    hint: 'stop whatever is writing into the container and try again',
  });
}

function vanished(e: LayerEntry, err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new CairnError(`${e.source} vanished while the layer was being written`, { hint: 'stop whatever is changing the container and try again' });
  // O_NOFOLLOW: the regular file the scan saw was replaced by a symlink.
  if (code === 'ELOOP') return new CairnError(`${e.source} was replaced while the layer was being written`, { hint: 'stop whatever is changing the container and try again' });
  return err;
}

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
        if (!put(padding(e.size))) return pos;
        continue;
      }
      if (this.i === this.entries.length) {
        if (this.ended) return pos;
        this.ended = true;
        if (!put(ZEROS)) return pos;
        continue;
      }
      const e = this.entries[this.i++];
      const head = headerBlocks(headerOf(e, this.timestamp));
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
      if (!put(head)) return pos;
    }
    return pos;
  }
}

function openSource(e: LayerEntry): number {
  try {
    return openSync(e.source!, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch (err) {
    throw vanished(e, err);
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

/** A deterministic uncompressed tar stream of entries, in the order given; regular files are read from their source. */
export function packEntries(entries: LayerEntry[], opts: { timestamp?: number } = {}): Readable {
  return new PackStream(entries, opts.timestamp);
}

/** Tars at least this big are hashed on a worker thread while the next buffer is packed (two cores at work). */
const HASH_ON_WORKER = 32 << 20;

/**
 * The sha256 digest and size of the tar packEntries would make, without making a stream of it (the seal of a
 * layer kept as a tree needs only its diffID): buffers are filled and hashed, on a worker thread for a big
 * tar, so that reading the next buffer and hashing the last one overlap. The event loop gets a turn after
 * every buffer.
 */
export async function digestEntries(entries: LayerEntry[], opts: { timestamp?: number } = {}): Promise<{ digest: string; size: number }> {
  const packer = new TarPacker(entries, opts.timestamp);
  let size = 0;
  try {
    const content = entries.reduce((n, e) => n + (e.type === 'file' ? e.size : 0), 0);
    if (content >= HASH_ON_WORKER) {
      const hash = await Sha256Spill.onWorker();
      try {
        for (let n = await hash.fillAndSend((b) => packer.fill(b)); n > 0; n = await hash.fillAndSend((b) => packer.fill(b))) size += n;
      } catch (err) {
        hash.close();
        throw err;
      }
      return { digest: 'sha256:' + (await hash.digest()), size };
    }
    const hash = createHash('sha256');
    const buf = Buffer.allocUnsafe(CHUNK);
    for (let n = packer.fill(buf); n > 0; n = packer.fill(buf)) {
      hash.update(buf.subarray(0, n));
      size += n;
      await new Promise(setImmediate);
    }
    return { digest: 'sha256:' + hash.digest('hex'), size };
  } finally {
    packer.close();
  }
}
