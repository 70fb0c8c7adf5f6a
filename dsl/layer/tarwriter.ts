import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import tarStream, { type Pack } from 'tar-stream';
import { CairnError } from '../core/errors.js';
import type { EntryType, LayerEntry } from './entry.js';
import { binaryPaxPack, XATTR_PAX_PREFIX, type PaxHeaders } from './tarpax.js';

type Sink = ReturnType<Pack['entry']>;

const TAR_TYPE: Record<EntryType, NonNullable<PaxHeaders['type']>> = {
  file: 'file',
  directory: 'directory',
  symlink: 'symlink',
  link: 'link',
  char: 'character-device',
  block: 'block-device',
  fifo: 'fifo',
};

// tar-stream replaces a mode of 0 by 0644/0755; a file type bit keeps mode 0 intact and is masked off when encoding.
const TYPE_BITS: Record<EntryType, number> = {
  file: 0o100000, directory: 0o040000, symlink: 0o120000, link: 0o100000, char: 0o020000, block: 0o060000, fifo: 0o010000,
};

const MAX_USTAR_ID = 0o777777;
// tar-stream encodes mtimes through a 32-bit integer.
const MAX_MTIME = 0x7fffffff;

/** The tar header of an entry: no user or group names, no atime or ctime, mtime clamped to timestamp. */
export function headerOf(e: LayerEntry, timestamp?: number): PaxHeaders {
  if (!e.path || e.path.startsWith('/') || e.path.endsWith('/') || e.path.split('/').some((c) => c === '..' || c === '.' || c === '')) {
    throw new CairnError(`invalid layer entry path ${JSON.stringify(e.path)}`);
  }
  const mtime = Math.min(MAX_MTIME, Math.max(0, Math.floor(timestamp === undefined ? e.mtime : Math.min(e.mtime, timestamp))));
  const h: PaxHeaders = {
    name: e.type === 'directory' ? e.path + '/' : e.path,
    type: TAR_TYPE[e.type],
    mode: (e.mode & 0o7777) | TYPE_BITS[e.type],
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

function waitDrain(sink: Sink): Promise<void> {
  return new Promise((resolve, reject) => {
    const onDrain = (): void => { sink.off('close', onClose); resolve(); };
    const onClose = (): void => { sink.off('drain', onDrain); reject(new CairnError('the layer tar stream was closed')); };
    sink.once('drain', onDrain);
    sink.once('close', onClose);
  });
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

async function addEntry(pack: Pack, e: LayerEntry, timestamp?: number, body?: Promise<Buffer>): Promise<void> {
  const header = headerOf(e, timestamp);
  if (body) {
    const buf = await body.catch((err) => {
      throw vanished(e, err);
    });
    if (buf.length !== e.size) throw changedSize(e);
    await new Promise<void>((resolve, reject) => pack.entry(header, buf, (err) => (err ? reject(err) : resolve())));
    return;
  }
  let sink!: Sink;
  const done = new Promise<void>((resolve, reject) => {
    sink = pack.entry(header, (err) => (err ? reject(err) : resolve()));
  });
  done.catch(() => undefined);
  sink.on('error', () => undefined); // reported through done and the pack stream
  if (e.type === 'file' && !e.source) {
    if (e.size !== 0) throw new CairnError(`layer entry ${e.path} has no source file`);
    sink.end(null);
  } else if (e.type === 'file') {
    const changed = (): CairnError => changedSize(e);
    const rs = createReadStream(e.source!);
    let n = 0;
    try {
      for await (const chunk of rs as AsyncIterable<Buffer>) {
        n += chunk.length;
        if (n > e.size) throw changed();
        if (!sink.write(chunk)) await waitDrain(sink);
      }
      if (n !== e.size) throw changed();
      sink.end(null);
    } catch (err) {
      rs.destroy();
      const error = vanished(e, err);
      sink.destroy(error as Error);
      throw error;
    }
  }
  await done;
}

/** A deterministic uncompressed tar stream of entries, in the order given; regular files are streamed from their source. */
export function packEntries(entries: AsyncIterable<LayerEntry> | LayerEntry[], opts: { timestamp?: number } = {}): Readable {
  const pack = binaryPaxPack(tarStream.pack());
  (async () => {
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
        await addEntry(pack, entries[i], opts.timestamp, body);
      }
    } else {
      for await (const e of entries) await addEntry(pack, e, opts.timestamp);
    }
    pack.finalize();
  })().catch((err) => pack.destroy(err));
  return Readable.from(pack, { objectMode: false });
}
