import { lstatSync, promises as fsp, readdirSync, type BigIntStats } from 'node:fs';
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

/**
 * Every object below dir (not dir itself), lstat'ed, sorted bytewise by path; symlinks are not followed. The walk
 * is synchronous: ten thousand lstat calls cost tens of milliseconds this way, several times that through the
 * thread pool one promise each.
 */
export async function walkTree(dir: string): Promise<WalkItem[]> {
  const items: WalkItem[] = [];
  const visit = (rel: string, abs: string): void => {
    for (const name of readdirSync(abs)) {
      const childAbs = path.join(abs, name);
      let st: BigIntStats;
      try {
        st = lstatSync(childAbs, { bigint: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw err;
      }
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
  const first = new Map<string, string>();
  for (const e of entries) {
    if (e.type === 'directory' || e.type === 'symlink' || e.type === 'link') continue;
    const st = stats.get(e.path);
    if (!st || st.nlink < 2n) continue;
    const key = `${st.dev}:${st.ino}`;
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
