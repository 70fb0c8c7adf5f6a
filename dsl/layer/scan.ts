import type { BigIntStats } from 'node:fs';
import { CairnError } from '../core/errors.js';
import { warn } from '../core/events.js';
import { sortByPath, type LayerEntry, type XattrFlavor } from './entry.js';
import { isOpaque, isWhiteout, layerXattrs, opaqueEntry, whiteoutEntry } from './whiteout.js';
import { entryOf, linkHardlinks, walkWithXattrs, type WalkItem } from './walk.js';

export { snapshotTree, saveSnapshot, loadSnapshot, scanTreeDiff, type Snapshot, type SnapshotEntry } from './snapshot.js';
export { overlayChanges, pruneCopiedUp } from './changes.js';

async function entriesOf(items: WalkItem[], all: Map<string, Record<string, Buffer>>, onItem?: (it: WalkItem, xa: Record<string, Buffer> | undefined) => LayerEntry[] | undefined): Promise<LayerEntry[]> {
  const entries: LayerEntry[] = [];
  const stats = new Map<string, BigIntStats>();
  let sockets = 0;
  for (const it of items) {
    const xa = all.get(it.path);
    const special = onItem?.(it, xa);
    if (special) {
      entries.push(...special);
      continue;
    }
    const e = await entryOf(it, layerXattrs(xa));
    if (!e) {
      sockets++;
      continue;
    }
    entries.push(e);
    stats.set(e.path, it.st);
  }
  if (sockets) warn(`${sockets} socket${sockets > 1 ? 's' : ''} left out of the layer (tar cannot hold sockets)`);
  sortByPath(entries);
  linkHardlinks(entries, stats);
  return entries;
}

/**
 * The OCI changeset of an overlayfs upper dir: whiteout devices become '.wh.' files, opaque dirs get '.wh..wh..opq',
 * both with the fixed marker header (whiteoutEntry, opaqueEntry) the copying driver writes too.
 */
export async function scanUpper(upperDir: string, flavor: XattrFlavor, o: { legacyMarkers?: boolean } = {}): Promise<LayerEntry[]> {
  const { items, xattrs: all } = await walkWithXattrs(upperDir);
  return entriesOf(items, all, (it, xa) => {
    if (xa?.[`${flavor}.overlay.redirect`] || xa?.[`${flavor}.overlay.metacopy`] !== undefined) {
      // A redirected dir or metacopy file has its content in a lower layer: the upper alone is not the change.
      throw new CairnError(`overlay upper ${upperDir} holds a redirected or metadata-only copy at /${it.path}`, {
        hint: 'mount the container overlay with redirect_dir=off,metacopy=off',
      });
    }
    const meta = { mode: Number(it.st.mode & 0o7777n), uid: Number(it.st.uid), gid: Number(it.st.gid), size: 0, mtime: Number(it.st.mtimeNs / 1_000_000_000n) };
    // Layers sealed before the fixed marker header took the whiteout device's (or the directory's) header.
    const legacy = (e: LayerEntry): LayerEntry => (o.legacyMarkers ? { ...e, ...meta, type: 'file', size: 0 } : e);
    if (isWhiteout(it.st, xa, flavor)) return [legacy(whiteoutEntry(it.path))];
    if (it.st.isDirectory() && isOpaque(xa, flavor)) {
      const x = layerXattrs(xa);
      return [{ path: it.path, type: 'directory', ...meta, ...(x ? { xattrs: x } : {}) }, legacy(opaqueEntry(it.path))];
    }
    return undefined;
  });
}

/** A whole tree as one layer: every object below dir, sorted, hardlinks as 'link' entries. */
export async function scanTree(dir: string): Promise<LayerEntry[]> {
  const { items, xattrs: all } = await walkWithXattrs(dir);
  return entriesOf(items, all);
}
