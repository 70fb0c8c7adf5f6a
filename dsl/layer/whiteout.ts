import { createHash } from 'node:crypto';
import type { BigIntStats } from 'node:fs';
import { OPAQUE_WHITEOUT, WHITEOUT_PREFIX, baseOf, isOverlayXattr, joinRel, parentOf, type LayerEntry, type XattrFlavor } from './entry.js';

/** The xattrs that belong in a layer: overlayfs bookkeeping and host SELinux labels are dropped. */
export function layerXattrs(all: Record<string, Buffer> | undefined): Record<string, Buffer> | undefined {
  if (!all) return undefined;
  const out: Record<string, Buffer> = {};
  for (const name of Object.keys(all).sort()) {
    if (isOverlayXattr(name) || name === 'security.selinux') continue;
    out[name] = all[name];
  }
  return Object.keys(out).length ? out : undefined;
}

/** True when an object of an overlay upper (or lower) dir is a whiteout: a 0/0 char device, or a file marked as one. */
export function isWhiteout(st: BigIntStats, xattrs: Record<string, Buffer> | undefined, flavor: XattrFlavor): boolean {
  if (st.isCharacterDevice() && st.rdev === 0n) return true;
  return st.isFile() && st.size === 0n && xattrs?.[`${flavor}.overlay.whiteout`] !== undefined;
}

/** True when a directory of an overlay upper (or lower) dir hides the content of the layers below it. */
export function isOpaque(xattrs: Record<string, Buffer> | undefined, flavor: XattrFlavor): boolean {
  return xattrs?.[`${flavor}.overlay.opaque`]?.toString() === 'y';
}

/**
 * The header every whiteout marker gets, whichever driver found the deletion: a plain empty file, mode 0, owned
 * by 0:0, mtime 0 (docs/decisions.md, "Same layers from both storage drivers"). overlayfs's whiteout devices
 * carry the deleting process's owner and time, which are noise, not content.
 */
const MARKER = { type: 'file', mode: 0, uid: 0, gid: 0, size: 0, mtime: 0 } as const;

/** The OCI whiteout entry that deletes rel ('.wh.NAME' beside it). */
export function whiteoutEntry(rel: string): LayerEntry {
  return { path: joinRel(parentOf(rel), WHITEOUT_PREFIX + baseOf(rel)), ...MARKER };
}

/** The opaque marker ('.wh..wh..opq') that hides everything the layers below hold in directory dir. */
export function opaqueEntry(dir: string): LayerEntry {
  return { path: joinRel(dir, OPAQUE_WHITEOUT), ...MARKER };
}

/** A short stable key of the layer xattrs of an object ('' when it has none), to compare two objects' xattrs. */
export function xattrKey(all: Record<string, Buffer> | undefined): string {
  const x = layerXattrs(all);
  if (!x) return '';
  const h = createHash('sha256');
  for (const [name, value] of Object.entries(x)) h.update(`${name.length}:${name}${value.length}:`).update(value);
  return h.digest('hex').slice(0, 32);
}
