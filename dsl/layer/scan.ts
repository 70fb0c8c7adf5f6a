import { CairnError } from '../core/errors.js';
import { warn } from '../core/events.js';
import type { LayerEntry, XattrFlavor } from './entry.js';
import { PARALLEL_AT, prestartFill } from './tar-fill.js';
import { entryOfFound, linkHardlinksBy, sortFound, walkLayer, type Found } from './walk.js';
import { isOpaque, isWhiteout, layerXattrs, opaqueEntry, whiteoutEntry } from './whiteout.js';
import { readXattrs } from './xattr.js';

export { snapshotTree, saveSnapshot, loadSnapshot, scanTreeDiff, type Snapshot, type SnapshotEntry } from './snapshot.js';
export { overlayChanges, pruneCopiedUp } from './changes.js';

/**
 * Every object below dir and the xattrs of each: the xattr reader (a process) starts first and runs during the
 * walk. A tree big enough for a parallel fill starts its threads while the walk goes on (tar-fill.ts).
 */
async function walkForLayer(dir: string): Promise<{ items: Found[]; xattrs: Map<string, Record<string, Buffer>> }> {
  const xattrs = readXattrs(dir);
  xattrs.catch(() => undefined);
  // One turn of the event loop first: the reader's process is started then, before the walk holds the thread.
  await new Promise(setImmediate);
  let started = false;
  const items = walkLayer(dir, (bytes) => {
    if (started || bytes < PARALLEL_AT) return;
    started = true;
    prestartFill();
  });
  return { items, xattrs: await xattrs };
}

function entriesOf(items: Found[], all: Map<string, Record<string, Buffer>>, onItem?: (it: Found, xa: Record<string, Buffer> | undefined) => LayerEntry[] | undefined): LayerEntry[] {
  const entries: LayerEntry[] = [];
  let sockets = 0;
  // Entries made by onItem may sort elsewhere than their item ('.wh.' names): then the entries are sorted again.
  let moved = false;
  for (const it of items) {
    const xa = all.get(it.path);
    const special = onItem?.(it, xa);
    if (special) {
      for (const e of special) entries.push(e);
      moved = true;
      continue;
    }
    const e = entryOfFound(it, layerXattrs(xa));
    if (!e) {
      sockets++;
      continue;
    }
    entries.push(e);
  }
  if (sockets) warn(`${sockets} socket${sockets > 1 ? 's' : ''} left out of the layer (tar cannot hold sockets)`);
  if (moved) sortFound(entries);
  const inodes = new Map<string, string>();
  for (const it of items) if (it.inode !== undefined && it.type !== undefined) inodes.set(it.path, it.inode);
  if (inodes.size) linkHardlinksBy(entries, (p) => inodes.get(p));
  return entries;
}

/**
 * The OCI changeset of an overlayfs upper dir: whiteout devices become '.wh.' files, opaque dirs get '.wh..wh..opq',
 * both with the fixed marker header (whiteoutEntry, opaqueEntry) the copying driver writes too.
 */
export async function scanUpper(upperDir: string, flavor: XattrFlavor, o: { legacyMarkers?: boolean } = {}): Promise<LayerEntry[]> {
  const { items, xattrs: all } = await walkForLayer(upperDir);
  return entriesOf(items, all, (it, xa) => {
    if (!xa && !it.st) return undefined;
    if (xa?.[`${flavor}.overlay.redirect`] || xa?.[`${flavor}.overlay.metacopy`] !== undefined) {
      // A redirected dir or metacopy file has its content in a lower layer: the upper alone is not the change.
      throw new CairnError(`overlay upper ${upperDir} holds a redirected or metadata-only copy at /${it.path}`, {
        hint: 'mount the container overlay with redirect_dir=off,metacopy=off',
      });
    }
    const meta = { mode: it.mode, uid: it.uid, gid: it.gid, size: 0, mtime: it.mtime };
    // Layers sealed before the fixed marker header took the whiteout device's (or the directory's) header.
    const legacy = (e: LayerEntry): LayerEntry => (o.legacyMarkers ? { ...e, ...meta, type: 'file', size: 0 } : e);
    if (it.st && isWhiteout(it.st, xa, flavor)) return [legacy(whiteoutEntry(it.path))];
    if (it.type === 'directory' && isOpaque(xa, flavor)) {
      const x = layerXattrs(xa);
      return [{ path: it.path, type: 'directory', ...meta, ...(x ? { xattrs: x } : {}) }, legacy(opaqueEntry(it.path))];
    }
    return undefined;
  });
}

/** A whole tree as one layer: every object below dir, sorted, hardlinks as 'link' entries. */
export async function scanTree(dir: string): Promise<LayerEntry[]> {
  const { items, xattrs: all } = await walkForLayer(dir);
  return entriesOf(items, all);
}
