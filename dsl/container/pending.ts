import { lstatSync, type BigIntStats } from 'node:fs';
import { InRoot } from '../layer/inroot.js';
import { typeOfStats, WHITEOUT_PREFIX, baseOf, joinRel, parentOf, type Change } from '../layer/entry.js';
import type { ContainerRecord } from '../store/containers.js';
import type { Store } from '../store/store.js';
import type { Driver } from './drivers/driver.js';
import type { LayerItem } from './layer-view.js';

/** A pending change with its size and a stamp that differs whenever the entry changed (size, mtime, ctime, inode, mode, kind). */
export interface PendingEntry {
  kind: 'A' | 'C' | 'D';
  path: string;
  /** Bytes of a regular file; 0 for anything else and for a deletion. */
  size: number;
  stamp: string;
}

/** The pending changes with their stats, and the same as a layer's changeset (for the dive view). */
export interface Pending {
  entries: PendingEntry[];
  items: LayerItem[];
}

/**
 * The stamp of an object: its kind of change, type, mode, size, times in ns and inode. A directory's size and ctime
 * are left out: they move whenever an entry inside is added or removed (a change of its own, or a run step's mount
 * points made and removed again), as the copying driver's snapshots ignore them too.
 */
function stampOf(kind: Change['kind'], st: BigIntStats | undefined): string {
  if (!st) return kind;
  const dir = st.isDirectory();
  return `${kind}:${typeOfStats(st) ?? 'socket'}:${st.mode.toString(8)}:${dir ? '' : st.size}:${st.mtimeNs}:${dir ? '' : st.ctimeNs}:${st.ino}`;
}

/**
 * The pending changes of a container as the driver finds them (`cairn diff`), each looked up in the tree (mounted:
 * the merged view for overlayfs) through the in-root resolver without following symlinks, for its size and stamp.
 */
export async function pendingChanges(store: Store, rec: ContainerRecord, d: Driver): Promise<Pending> {
  // overlayfs: an upper dir holding no file is found clean without reading the lowers (the copying driver's dirty is its changes).
  if (rec.driver === 'overlay' && !(await d.dirty(store, rec))) return { entries: [], items: [] };
  const changes = await d.changes(store, rec);
  if (changes.length === 0) return { entries: [], items: [] };
  const root = await d.mount(store, rec);
  return InRoot.with(root, (r) => {
    const entries: PendingEntry[] = [];
    const items: LayerItem[] = [];
    const seen = new Set<string>();
    for (const c of changes) {
      const rel = c.path.replace(/^\/+/, '');
      if (c.kind === 'D') {
        entries.push({ kind: 'D', path: c.path, size: 0, stamp: 'D' });
        items.push({ path: joinRel(parentOf(rel), WHITEOUT_PREFIX + baseOf(rel)), type: 'file', size: 0 });
        continue;
      }
      const loc = r.locate(rel, { follow: false });
      // The walk found it below real directories: a path reached another way (a parent replaced since) is gone.
      let st: BigIntStats | undefined;
      if (loc.stat && loc.rel === rel) {
        try {
          st = lstatSync(loc.path, { bigint: true });
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        }
      }
      const type = st && typeOfStats(st);
      const size = type === 'file' ? Number(st!.size) : 0;
      entries.push({ kind: c.kind, path: c.path, size, stamp: stampOf(c.kind, st) });
      if (!type) continue;
      // A hardlinked file's bytes count once, as a layer holds them once.
      const key = st!.nlink > 1n && type === 'file' ? `${st!.dev}:${st!.ino}` : '';
      const first = !key || !seen.has(key);
      if (key) seen.add(key);
      items.push({ path: rel, type: first ? type : 'link', size: first ? size : 0 });
    }
    return { entries, items };
  });
}
