import { constants as fsc, openSync } from 'node:fs';
import { CairnError } from '../core/errors.js';
import type { EntryType, LayerEntry } from './entry.js';
import { XATTR_PAX_PREFIX, type TarHeader, type TarType } from './tar-header.js';

/*
 * What the serial packer (tarwriter.ts) and the parallel one (tar-fill.ts) share: an entry's tar header, how a
 * source file is opened, and the errors of a source that changed after the scan.
 */

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

/** True for a relative path with no empty, '.' or '..' component and no leading or trailing slash. */
function validPath(p: string): boolean {
  if (!p || p.charCodeAt(0) === 0x2f || p.charCodeAt(p.length - 1) === 0x2f) return false;
  for (let start = 0; start <= p.length; ) {
    let end = p.indexOf('/', start);
    if (end < 0) end = p.length;
    const n = end - start;
    if (n === 0 || (n === 1 && p.charCodeAt(start) === 0x2e) || (n === 2 && p.charCodeAt(start) === 0x2e && p.charCodeAt(start + 1) === 0x2e)) return false;
    start = end + 1;
  }
  return true;
}

/** The tar header of an entry: no user or group names, no atime or ctime, mtime clamped to timestamp. */
export function headerOf(e: LayerEntry, timestamp?: number): TarHeader {
  if (!validPath(e.path)) throw new CairnError(`invalid layer entry path ${JSON.stringify(e.path)}`);
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
  if (e.uid > MAX_USTAR_ID || e.gid > MAX_USTAR_ID || e.xattrs) {
    const pax: Record<string, string | Buffer> = {};
    if (e.uid > MAX_USTAR_ID) pax.uid = String(e.uid);
    if (e.gid > MAX_USTAR_ID) pax.gid = String(e.gid);
    for (const name of Object.keys(e.xattrs ?? {}).sort()) pax[XATTR_PAX_PREFIX + name] = e.xattrs![name];
    if (Object.keys(pax).length) h.pax = pax;
  }
  return h;
}

/** How a source file is opened: never through a symlink, and without blocking on a FIFO put in its place. */
export const SOURCE_FLAGS = fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK;

/** The error of a source whose size is not the one the scan saw. */
export function changedSize(e: LayerEntry): CairnError {
  return new CairnError(`${e.source} changed size while it was being written into the layer`, {
    hint: 'stop whatever is writing into the container and try again',
  });
}

/** The error of a source that could not be opened: gone, or replaced by a symlink; any other error as it is. */
export function vanished(e: LayerEntry, err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new CairnError(`${e.source} vanished while the layer was being written`, { hint: 'stop whatever is changing the container and try again' });
  // O_NOFOLLOW: the regular file the scan saw was replaced by a symlink.
  if (code === 'ELOOP') return new CairnError(`${e.source} was replaced while the layer was being written`, { hint: 'stop whatever is changing the container and try again' });
  return err;
}

/** Opens an entry's source for reading (errors as vanished gives them). */
export function openSource(e: LayerEntry): number {
  try {
    return openSync(e.source!, SOURCE_FLAGS);
  } catch (err) {
    throw vanished(e, err);
  }
}
