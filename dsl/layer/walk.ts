import { lstatSync, promises as fsp, readdirSync, readlinkSync, type BigIntStats } from 'node:fs';
import path from 'node:path';
import { joinRel, sortByPath, splitDev, typeOfStats, type EntryType, type LayerEntry } from './entry.js';
import { readXattrs } from './xattr.js';

/** One object found below a walked directory. */
export interface WalkItem {
  /** Relative path, '/'-separated. */
  path: string;
  /** Host path. */
  abs: string;
  st: BigIntStats;
}

/** The entries of directory abs with their host paths and lstat (bigint), skipping any that vanish meanwhile. */
function* children(abs: string): Generator<[string, string, BigIntStats]> {
  for (const name of readdirSync(abs)) {
    const childAbs = abs === '/' ? '/' + name : abs + '/' + name;
    try {
      yield [name, childAbs, lstatSync(childAbs, { bigint: true })];
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}

/**
 * Every object below dir (not dir itself), lstat'ed, sorted bytewise by path; symlinks are not followed. The walk
 * is synchronous: ten thousand lstat calls cost tens of milliseconds this way, several times that through the
 * thread pool one promise each.
 */
export async function walkTree(dir: string): Promise<WalkItem[]> {
  const items: WalkItem[] = [];
  const visit = (rel: string, abs: string): void => {
    for (const [name, childAbs, st] of children(abs)) {
      const it = { path: joinRel(rel, name), abs: childAbs, st };
      items.push(it);
      if (st.isDirectory()) visit(it.path, childAbs);
    }
  };
  visit('', path.resolve(dir));
  return sortByPath(items);
}

/** walkTree and readXattrs of dir together (the xattr reader, a process, starts first and runs during the walk). */
export async function walkWithXattrs(dir: string): Promise<{ items: WalkItem[]; xattrs: Map<string, Record<string, Buffer>> }> {
  const xattrs = readXattrs(dir);
  xattrs.catch(() => undefined);
  // One turn of the event loop first: the reader's process is started then, before the walk holds the thread.
  await new Promise(setImmediate);
  const items = await walkTree(dir);
  return { items, xattrs: await xattrs };
}

/** The layer entry for a walked object (undefined for sockets, which tar cannot hold). */
export async function entryOf(it: WalkItem, xattrs?: Record<string, Buffer>): Promise<LayerEntry | undefined> {
  const type: EntryType | undefined = typeOfStats(it.st);
  if (!type) return undefined;
  const e: LayerEntry = {
    path: it.path,
    type,
    mode: Number(it.st.mode & 0o7777n),
    uid: Number(it.st.uid),
    gid: Number(it.st.gid),
    size: type === 'file' ? Number(it.st.size) : 0,
    mtime: Number(it.st.mtimeNs / 1_000_000_000n),
  };
  if (type === 'file') e.source = it.abs;
  if (type === 'symlink') e.linkname = await fsp.readlink(it.abs);
  if (type === 'char' || type === 'block') {
    const { major, minor } = splitDev(it.st.rdev);
    e.devmajor = major;
    e.devminor = minor;
  }
  if (xattrs && Object.keys(xattrs).length) e.xattrs = xattrs;
  return e;
}

/** Turns the 2nd and later names of a hardlinked inode into 'link' entries to the first name (entries in final order). */
export function linkHardlinks(entries: LayerEntry[], stats: Map<string, BigIntStats>): void {
  linkHardlinksBy(entries, (p) => {
    const st = stats.get(p);
    return st && st.nlink >= 2n ? `${st.dev}:${st.ino}` : undefined;
  });
}

/** linkHardlinks with each path's inode key given by inodeOf (undefined for an object with one name). */
export function linkHardlinksBy(entries: LayerEntry[], inodeOf: (path: string) => string | undefined): void {
  const first = new Map<string, string>();
  for (const e of entries) {
    if (e.type === 'directory' || e.type === 'symlink' || e.type === 'link') continue;
    const key = inodeOf(e.path);
    if (key === undefined) continue;
    const name = first.get(key);
    if (name === undefined) {
      first.set(key, e.path);
      continue;
    }
    e.type = 'link';
    e.linkname = name;
    e.size = 0;
    delete e.source;
    delete e.xattrs;
    delete e.devmajor;
    delete e.devminor;
  }
}

/**
 * One object found by walkLayer: what its layer entry needs, taken from its lstat at once (ten thousand kept
 * BigIntStats, each with a score of bigints and dates, cost more in garbage collection than the walk itself).
 */
export interface Found extends Omit<LayerEntry, 'type' | 'xattrs' | 'source'> {
  /** Host path. */
  abs: string;
  /** undefined for a socket. */
  type: EntryType | undefined;
  /** dev:ino of a non-directory with more than one name. */
  inode?: string;
  /** The lstat of what may be an overlay whiteout (a character device or an empty file), for isWhiteout. */
  st?: BigIntStats;
}

/** Sorts items in place bytewise by path: sortByPath, but comparing strings where that is the same order. */
export function sortFound<T extends { path: string }>(items: T[]): T[] {
  // UTF-16 code units order like UTF-8 bytes below the surrogates; other names take the byte comparison.
  for (const it of items) if (/[\ud800-\uffff]/.test(it.path)) return sortByPath(items);
  return items.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/**
 * Every object below dir (not dir itself) as a Found, sorted bytewise by path; symlinks are read, not followed.
 * onContent is told the running total of regular file bytes after each file.
 */
export function walkLayer(dir: string, onContent?: (bytes: number) => void): Found[] {
  const items: Found[] = [];
  let content = 0;
  const visit = (rel: string, abs: string): void => {
    for (const [name, childAbs, st] of children(abs)) {
      const type = typeOfStats(st);
      const it: Found = {
        path: rel === '' ? name : rel + '/' + name,
        abs: childAbs,
        type,
        mode: Number(st.mode & 0o7777n),
        uid: Number(st.uid),
        gid: Number(st.gid),
        size: type === 'file' ? Number(st.size) : 0,
        mtime: Number(st.mtimeNs / 1_000_000_000n),
      };
      if (type === 'symlink') it.linkname = readlinkSync(childAbs);
      if (type === 'char' || type === 'block') Object.assign(it, devNumbers(st.rdev));
      if (type !== 'directory' && st.nlink >= 2n) it.inode = `${st.dev}:${st.ino}`;
      if (type === 'char' || (type === 'file' && it.size === 0)) it.st = st;
      items.push(it);
      if (type === 'directory') visit(it.path, childAbs);
      else if (type === 'file' && it.size > 0) onContent?.((content += it.size));
    }
  };
  visit('', path.resolve(dir));
  return sortFound(items);
}

function devNumbers(rdev: bigint): { devmajor: number; devminor: number } {
  const { major, minor } = splitDev(rdev);
  return { devmajor: major, devminor: minor };
}

/** The layer entry of a Found (undefined for a socket, which tar cannot hold). */
export function entryOfFound(it: Found, xattrs?: Record<string, Buffer>): LayerEntry | undefined {
  if (!it.type) return undefined;
  const e: LayerEntry = { path: it.path, type: it.type, mode: it.mode, uid: it.uid, gid: it.gid, size: it.size, mtime: it.mtime };
  if (it.type === 'file') e.source = it.abs;
  if (it.type === 'symlink') e.linkname = it.linkname;
  if (it.type === 'char' || it.type === 'block') {
    e.devmajor = it.devmajor;
    e.devminor = it.devminor;
  }
  if (xattrs && Object.keys(xattrs).length) e.xattrs = xattrs;
  return e;
}
