import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { CairnError } from '../core/errors.js';
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

/** Files up to this size are read whole, ahead of the writer; larger ones are streamed. */
const PREFETCH_MAX = 256 * 1024;
/** How many small files are read ahead at once (reading them one by one leaves the disk idle between files). */
const PREFETCH_AHEAD = 32;

function changedSize(e: LayerEntry): CairnError {
  return new CairnError(`${e.source} changed size while it was being written into the layer`, {
    hint: 'stop whatever is writing into the container and try again',
  });
}

function vanished(e: LayerEntry, err: unknown): unknown {
  return (err as NodeJS.ErrnoException).code === 'ENOENT'
    ? new CairnError(`${e.source} vanished while the layer was being written`, { hint: 'stop whatever is changing the container and try again' })
    : err;
}

/** Output is handed on in pieces of about this size: headers and small files are gathered, not passed one by one. */
const BATCH = 64 * 1024;

/** Gathers small buffers into pieces of about BATCH bytes. */
class Batch {
  private parts: Buffer[] = [];
  private size = 0;

  /** Adds b; a full batch when there is one. */
  add(b: Buffer): Buffer | undefined {
    if (b.length) this.parts.push(b);
    this.size += b.length;
    return this.size >= BATCH ? this.take() : undefined;
  }

  /** Everything gathered, as one buffer (undefined when empty). */
  take(): Buffer | undefined {
    if (!this.size) return undefined;
    const out = this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts, this.size);
    this.parts = [];
    this.size = 0;
    return out;
  }
}

/** The bytes of one entry: header blocks, content (streamed from its source unless given), padding. */
async function* entryBytes(e: LayerEntry, batch: Batch, timestamp?: number, body?: Promise<Buffer>): AsyncGenerator<Buffer> {
  const head = batch.add(headerBlocks(headerOf(e, timestamp)));
  if (head) yield head;
  if (e.type !== 'file') return;
  if (body) {
    const buf = await body.catch((err) => {
      throw vanished(e, err);
    });
    if (buf.length !== e.size) throw changedSize(e);
    const out = batch.add(buf);
    if (out) yield out;
  } else if (!e.source) {
    if (e.size !== 0) throw new CairnError(`layer entry ${e.path} has no source file`);
    return;
  } else {
    const pending = batch.take();
    if (pending) yield pending;
    let n = 0;
    try {
      for await (const chunk of createReadStream(e.source) as AsyncIterable<Buffer>) {
        n += chunk.length;
        if (n > e.size) throw changedSize(e);
        yield chunk;
      }
    } catch (err) {
      throw vanished(e, err);
    }
    if (n !== e.size) throw changedSize(e);
  }
  const pad = batch.add(padding(e.size));
  if (pad) yield pad;
}

/** The bytes of a whole layer: the entries, then the two zero blocks that end the archive. */
async function* layerBytes(entries: AsyncIterable<LayerEntry> | LayerEntry[], timestamp?: number): AsyncGenerator<Buffer> {
  const batch = new Batch();
  if (Array.isArray(entries)) {
    // Small files are read ahead (a window of PREFETCH_AHEAD) while earlier entries are written.
    const small = (e: LayerEntry) => e.type === 'file' && !!e.source && e.size > 0 && e.size <= PREFETCH_MAX;
    const ahead = new Map<number, Promise<Buffer>>();
    let next = 0;
    const fill = (upTo: number) => {
      for (; next < entries.length && next <= upTo; next++) {
        const e = entries[next];
        if (small(e)) {
          const p = readFile(e.source!);
          p.catch(() => undefined);
          ahead.set(next, p);
        }
      }
    };
    for (let i = 0; i < entries.length; i++) {
      fill(i + PREFETCH_AHEAD);
      const body = ahead.get(i);
      ahead.delete(i);
      yield* entryBytes(entries[i], batch, timestamp, body);
    }
  } else {
    for await (const e of entries) yield* entryBytes(e, batch, timestamp);
  }
  yield batch.add(Buffer.alloc(1024)) ?? batch.take()!;
}

/** A deterministic uncompressed tar stream of entries, in the order given; regular files are streamed from their source. */
export function packEntries(entries: AsyncIterable<LayerEntry> | LayerEntry[], opts: { timestamp?: number } = {}): Readable {
  return Readable.from(layerBytes(entries, opts.timestamp), { objectMode: false });
}
