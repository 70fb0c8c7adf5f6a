import { promises as fsp, type BigIntStats } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { BadInputError } from '../core/errors.js';
import { WHITEOUT_PREFIX, baseOf, joinRel, parentOf, sortByPath, typeOfStats, type Change, type EntryType, type LayerEntry } from './entry.js';
import { layerXattrs } from './whiteout.js';
import { entryOf, linkHardlinks, walkTree, type WalkItem } from './walk.js';
import { readXattrs } from './xattr.js';

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
}

/** The state of a tree at one moment, keyed by relative path; valid only for that same tree on the same file system. */
export interface Snapshot {
  entries: Map<string, SnapshotEntry>;
}

async function snapshotEntry(it: WalkItem): Promise<SnapshotEntry | undefined> {
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
  return s;
}

/** Records the state of every object below dir. */
export async function snapshotTree(dir: string): Promise<Snapshot> {
  const entries = new Map<string, SnapshotEntry>();
  for (const it of await walkTree(dir)) {
    const s = await snapshotEntry(it);
    if (s) entries.set(it.path, s);
  }
  return { entries };
}

type Row = [string, EntryType, number, number, number, number, string, string, string, string, string | null];

/** Writes a snapshot to file (temp file + rename). */
export async function saveSnapshot(file: string, s: Snapshot): Promise<void> {
  const rows: Row[] = [];
  for (const [p, e] of s.entries) {
    rows.push([p, e.type, e.mode, e.uid, e.gid, e.size, String(e.mtimeNs), String(e.ctimeNs), String(e.ino), String(e.rdev), e.linkname ?? null]);
  }
  const tmp = `${file}.tmp-${randomBytes(6).toString('hex')}`;
  await fsp.mkdir(path.dirname(file), { recursive: true });
  await fsp.writeFile(tmp, JSON.stringify({ version: 1, entries: rows }));
  await fsp.rename(tmp, file);
}

/** Reads a snapshot written by saveSnapshot. */
export async function loadSnapshot(file: string): Promise<Snapshot> {
  let doc: { version?: number; entries?: Row[] };
  try {
    doc = JSON.parse(await fsp.readFile(file, 'utf8'));
  } catch (err) {
    throw new BadInputError(`cannot read the snapshot ${file}: ${(err as Error).message}`, { hint: 'the container record is damaged; roll back or recreate the container' });
  }
  if (doc.version !== 1 || !Array.isArray(doc.entries)) {
    throw new BadInputError(`${file} is not a cairn snapshot`, { hint: 'the container record is damaged; roll back or recreate the container' });
  }
  const entries = new Map<string, SnapshotEntry>();
  for (const [p, type, mode, uid, gid, size, mtimeNs, ctimeNs, ino, rdev, linkname] of doc.entries) {
    const e: SnapshotEntry = { type, mode, uid, gid, size, mtimeNs: BigInt(mtimeNs), ctimeNs: BigInt(ctimeNs), ino: BigInt(ino), rdev: BigInt(rdev) };
    if (linkname !== null) e.linkname = linkname;
    entries.set(p, e);
  }
  return { entries };
}

// A directory's ctime moves whenever an entry is added or removed inside it, changes reported on their own,
// and when a run step makes and removes its mount points: only a file's ctime tells of a change.
function differs(a: SnapshotEntry, b: SnapshotEntry): boolean {
  return a.type !== b.type || a.mode !== b.mode || a.uid !== b.uid || a.gid !== b.gid || a.size !== b.size || a.mtimeNs !== b.mtimeNs ||
    (a.type !== 'directory' && a.ctimeNs !== b.ctimeNs) || a.ino !== b.ino || a.rdev !== b.rdev || a.linkname !== b.linkname;
}

function* ancestors(rel: string): Generator<string> {
  for (let p = parentOf(rel); p !== ''; p = parentOf(p)) yield p;
}

/** The changes below dir since a snapshot, as an OCI changeset (entries) and as a list of A/C/D paths. */
export async function scanTreeDiff(dir: string, before: Snapshot): Promise<{ entries: LayerEntry[]; changes: Change[] }> {
  const [items, all] = await Promise.all([walkTree(dir), readXattrs(dir)]);
  const now = new Map<string, { it: WalkItem; snap: SnapshotEntry }>();
  for (const it of items) {
    const snap = await snapshotEntry(it);
    if (snap) now.set(it.path, { it, snap });
  }
  const changes: Change[] = [];
  const emit = new Set<string>();
  const entries: LayerEntry[] = [];
  const addParents = (rel: string): void => {
    for (const a of ancestors(rel)) emit.add(a);
  };
  for (const [p, { snap }] of now) {
    const old = before.entries.get(p);
    if (old && !differs(old, snap)) continue;
    changes.push({ kind: old ? 'C' : 'A', path: '/' + p });
    emit.add(p);
    addParents(p);
  }
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
    entries.push({ path: joinRel(parentOf(p), WHITEOUT_PREFIX + baseOf(p)), type: 'file', mode: 0, uid: 0, gid: 0, size: 0, mtime: 0 });
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
