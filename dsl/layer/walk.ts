import { promises as fsp, type BigIntStats } from 'node:fs';
import path from 'node:path';
import { joinRel, sortByPath, splitDev, typeOfStats, type EntryType, type LayerEntry } from './entry.js';

/** One object found below a walked directory. */
export interface WalkItem {
  /** Relative path, '/'-separated. */
  path: string;
  /** Host path. */
  abs: string;
  st: BigIntStats;
}

/** Every object below dir (not dir itself), lstat'ed, sorted bytewise by path; symlinks are not followed. */
export async function walkTree(dir: string): Promise<WalkItem[]> {
  const root = path.resolve(dir);
  const items: WalkItem[] = [];
  const visit = async (rel: string, abs: string): Promise<void> => {
    const names = await fsp.readdir(abs);
    const found = await Promise.all(
      names.map(async (name) => {
        const childAbs = path.join(abs, name);
        try {
          return { path: joinRel(rel, name), abs: childAbs, st: await fsp.lstat(childAbs, { bigint: true }) };
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
          throw err;
        }
      }),
    );
    for (const it of found) {
      if (!it) continue;
      items.push(it);
      if (it.st.isDirectory()) await visit(it.path, it.abs);
    }
  };
  await visit('', root);
  return sortByPath(items);
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
