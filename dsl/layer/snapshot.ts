import { promises as fsp, type BigIntStats } from 'node:fs';
import { writeFileAtomic } from '../core/atomic.js';
import { BadInputError } from '../core/errors.js';
import { parentOf, sortByPath, typeOfStats, type Change, type EntryType, type LayerEntry } from './entry.js';
import { layerXattrs, opaqueEntry, whiteoutEntry, xattrKey } from './whiteout.js';
import { entryOf, linkHardlinks, walkWithXattrs, type WalkItem } from './walk.js';

/** What a snapshot remembers of one path: enough to tell whether it changed. */
export interface SnapshotEntry {
  type: EntryType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtimeNs: bigint;
  /** ctime catches changes mtime misses: chmod, chown, xattrs, new hardlinks. */
  ctimeNs: bigint;
  ino: bigint;
  rdev: bigint;
  linkname?: string;
  /** A non-directory's link count: losing a name elsewhere moves its ctime but is no change of its own. */
  nlink?: number;
  /** A directory's birth time (0 where the file system keeps none): with ino, tells a directory made again. */
  btimeNs?: bigint;
  /** xattrKey of a directory's layer xattrs (a directory's ctime is not compared, so it is the only witness). */
  xattrs?: string;
}

/** The state of a tree at one moment, keyed by relative path; valid only for that same tree on the same file system. */
export interface Snapshot {
  entries: Map<string, SnapshotEntry>;
}

async function snapshotEntry(it: WalkItem, xattrs: Record<string, Buffer> | undefined): Promise<SnapshotEntry | undefined> {
  const type = typeOfStats(it.st);
  if (!type) return undefined;
  const s: SnapshotEntry = {
    type,
    mode: Number(it.st.mode & 0o7777n),
    uid: Number(it.st.uid),
    gid: Number(it.st.gid),
    size: Number(it.st.size),
    mtimeNs: it.st.mtimeNs,
    ctimeNs: it.st.ctimeNs,
    ino: it.st.ino,
    rdev: it.st.rdev,
  };
  if (type === 'symlink') s.linkname = await fsp.readlink(it.abs);
  if (type === 'directory') {
    s.btimeNs = it.st.birthtimeNs;
    s.xattrs = xattrKey(xattrs);
  } else s.nlink = Number(it.st.nlink);
  return s;
}

/** Records the state of every object below dir. */
export async function snapshotTree(dir: string): Promise<Snapshot> {
  const { items, xattrs: all } = await walkWithXattrs(dir);
  const entries = new Map<string, SnapshotEntry>();
  for (const it of items) {
    const s = await snapshotEntry(it, all.get(it.path));
    if (s) entries.set(it.path, s);
  }
  return { entries };
}

type Row = [string, EntryType, number, number, number, number, string, string, string, string, string | null, (number | null)?, (string | null)?, (string | null)?];

/** Writes a snapshot to file (temp file + rename). */
export async function saveSnapshot(file: string, s: Snapshot): Promise<void> {
  const rows: Row[] = [];
  for (const [p, e] of s.entries) {
    rows.push([p, e.type, e.mode, e.uid, e.gid, e.size, String(e.mtimeNs), String(e.ctimeNs), String(e.ino), String(e.rdev), e.linkname ?? null,
      e.nlink ?? null, e.btimeNs === undefined ? null : String(e.btimeNs), e.xattrs ?? null]);
  }
  await writeFileAtomic(file, JSON.stringify({ version: 2, entries: rows }));
}

/** Reads a snapshot written by saveSnapshot (version 1, from before link counts, birth times and xattrs, too). */
export async function loadSnapshot(file: string): Promise<Snapshot> {
  let doc: { version?: number; entries?: Row[] };
  try {
    doc = JSON.parse(await fsp.readFile(file, 'utf8'));
  } catch (err) {
    throw new BadInputError(`cannot read the snapshot ${file}: ${(err as Error).message}`, { hint: 'the container record is damaged; roll back or recreate the container' });
  }
  if ((doc.version !== 1 && doc.version !== 2) || !Array.isArray(doc.entries)) {
    throw new BadInputError(`${file} is not a cairn snapshot`, { hint: 'the container record is damaged; roll back or recreate the container' });
  }
  const entries = new Map<string, SnapshotEntry>();
  for (const [p, type, mode, uid, gid, size, mtimeNs, ctimeNs, ino, rdev, linkname, nlink, btimeNs, xattrs] of doc.entries) {
    const e: SnapshotEntry = { type, mode, uid, gid, size, mtimeNs: BigInt(mtimeNs), ctimeNs: BigInt(ctimeNs), ino: BigInt(ino), rdev: BigInt(rdev) };
    if (linkname !== null) e.linkname = linkname;
    if (nlink != null) e.nlink = nlink;
    if (btimeNs != null) e.btimeNs = BigInt(btimeNs);
    if (xattrs != null) e.xattrs = xattrs;
    entries.set(p, e);
  }
  return { entries };
}

/**
 * True when the directory now at a path is not the one the snapshot saw there: a non-directory was, or it has
 * another inode or birth time (ext4 gives a directory made again at once the inode just freed, so the inode alone
 * cannot tell). overlayfs makes such a directory opaque, and so does the copying driver.
 */
function remade(old: SnapshotEntry, cur: SnapshotEntry): boolean {
  if (old.type !== 'directory') return true;
  return old.ino !== cur.ino || (!!old.btimeNs && !!cur.btimeNs && old.btimeNs !== cur.btimeNs);
}

// A directory's ctime and size move whenever an entry is added or removed inside it, changes reported on their
// own, and when a run step makes and removes its mount points: a directory changes by its mode, owners, mtime,
// xattrs or identity. A file's ctime tells of any change, except that of losing another of its names.
function differs(old: SnapshotEntry, cur: SnapshotEntry): boolean {
  if (old.type !== cur.type || old.mode !== cur.mode || old.uid !== cur.uid || old.gid !== cur.gid || old.mtimeNs !== cur.mtimeNs ||
    old.ino !== cur.ino || old.rdev !== cur.rdev || old.linkname !== cur.linkname) return true;
  if (cur.type === 'directory') return remade(old, cur) || (old.xattrs !== undefined && old.xattrs !== cur.xattrs);
  if (old.size !== cur.size) return true;
  if (old.ctimeNs === cur.ctimeNs) return false;
  return !(old.nlink !== undefined && cur.nlink !== undefined && cur.nlink < old.nlink);
}

function* ancestors(rel: string): Generator<string> {
  for (let p = parentOf(rel); p !== ''; p = parentOf(p)) yield p;
}

/**
 * The changes below dir since a snapshot, as an OCI changeset (entries) and as a list of A/C/D paths, in the
 * form overlayfs gives them (docs/decisions.md, "Same layers from both storage drivers"): every parent of a
 * change is in the layer, a deleted path is one whiteout (nothing below it), and a directory made again where
 * something was is opaque and holds everything below it, with no whiteouts inside.
 */
export async function scanTreeDiff(dir: string, before: Snapshot): Promise<{ entries: LayerEntry[]; changes: Change[] }> {
  const { items, xattrs: all } = await walkWithXattrs(dir);
  const now = new Map<string, { it: WalkItem; snap: SnapshotEntry }>();
  for (const it of items) {
    const snap = await snapshotEntry(it, all.get(it.path));
    if (snap) now.set(it.path, { it, snap });
  }
  // Directories made again (walk order puts parents first); one inside another such is only new.
  const opaque = new Set<string>();
  const inOpaque = (rel: string): boolean => {
    for (const a of ancestors(rel)) if (opaque.has(a)) return true;
    return false;
  };
  for (const [p, { snap }] of now) {
    const old = before.entries.get(p);
    if (old && snap.type === 'directory' && !inOpaque(p) && remade(old, snap)) opaque.add(p);
  }
  const changes: Change[] = [];
  const emit = new Set<string>();
  const entries: LayerEntry[] = [];
  const addParents = (rel: string): void => {
    for (const a of ancestors(rel)) emit.add(a);
  };
  for (const [p, { snap }] of now) {
    const old = before.entries.get(p);
    const fresh = inOpaque(p);
    if (old && !fresh && !differs(old, snap)) continue;
    changes.push({ kind: old && !fresh ? 'C' : 'A', path: '/' + p });
    emit.add(p);
    addParents(p);
  }
  for (const p of opaque) entries.push(opaqueEntry(p));
  for (const p of before.entries.keys()) {
    if (now.has(p)) continue;
    // Below a deleted directory one whiteout (for the directory) covers everything; below a directory that
    // became a file or symlink, the new entry replaces the whole subtree.
    let covered = false;
    for (const a of ancestors(p)) {
      const cur = now.get(a);
      if (!cur ? before.entries.has(a) : cur.snap.type !== 'directory') covered = true;
    }
    if (covered) continue;
    changes.push({ kind: 'D', path: '/' + p });
    // An opaque directory hides all that was below it already.
    if (inOpaque(p)) continue;
    entries.push(whiteoutEntry(p));
    addParents(p);
  }
  const stats = new Map<string, BigIntStats>();
  for (const p of emit) {
    const cur = now.get(p);
    if (!cur) continue;
    const e = await entryOf(cur.it, layerXattrs(all.get(p)));
    if (!e) continue;
    entries.push(e);
    stats.set(p, cur.it.st);
  }
  sortByPath(entries);
  linkHardlinks(entries, stats);
  return { entries, changes: sortByPath(changes) };
}
