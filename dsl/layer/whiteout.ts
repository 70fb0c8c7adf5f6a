import type { BigIntStats } from 'node:fs';
import { isOverlayXattr, type XattrFlavor } from './entry.js';

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

