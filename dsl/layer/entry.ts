import type { BigIntStats } from 'node:fs';

/** The kind of a file system object in a layer. */
export type EntryType = 'file' | 'directory' | 'symlink' | 'link' | 'char' | 'block' | 'fifo';

/** One entry of a layer: what a tar header carries, plus where a regular file's content comes from. */
export interface LayerEntry {
  /** Relative path, no leading '/', no trailing '/': 'etc/passwd', 'etc/.wh.old', 'var/.wh..wh..opq'. */
  path: string;
  type: EntryType;
  /** Permission bits including setuid, setgid and sticky; no file type bits. */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Modification time in seconds since the epoch. */
  mtime: number;
  /** A symlink's target, or for 'link' the relative path of the first name. */
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  xattrs?: Record<string, Buffer>;
  /** Absolute host path to read a regular file's content from. */
  source?: string;
}

/** One pending change of a container: added, changed or deleted path (absolute in the container). */
export interface Change {
  kind: 'A' | 'C' | 'D';
  path: string;
}

/** The overlayfs xattr namespace: trusted.overlay.* as real root, user.overlay.* (mount option userxattr) in a user namespace. */
export type XattrFlavor = 'trusted' | 'user';

/** The prefix of whiteout names (OCI image spec, layer.md). */
export const WHITEOUT_PREFIX = '.wh.';

/** The name of the opaque whiteout that hides a directory's lower content. */
export const OPAQUE_WHITEOUT = '.wh..wh..opq';

/** Sorts items in place by path, bytewise (which puts parents before children). */
export function sortByPath<T extends { path: string }>(items: T[]): T[] {
  const keyed = items.map((it) => ({ it, key: Buffer.from(it.path) }));
  keyed.sort((a, b) => Buffer.compare(a.key, b.key));
  for (let i = 0; i < keyed.length; i++) items[i] = keyed[i].it;
  return items;
}

/** The entry type of an lstat result, or undefined for sockets. */
export function typeOfStats(st: BigIntStats): EntryType | undefined {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'directory';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  if (st.isFIFO()) return 'fifo';
  return undefined;
}

/** Splits a Linux dev_t into major and minor numbers (glibc encoding). */
export function splitDev(rdev: bigint): { major: number; minor: number } {
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
  return { major: Number(major), minor: Number(minor) };
}

/** True for the overlayfs private xattrs (trusted.overlay.*, user.overlay.*), which never belong in a layer. */
export function isOverlayXattr(name: string): boolean {
  return name.startsWith('trusted.overlay.') || name.startsWith('user.overlay.');
}

/** The parent of a relative path ('' for top-level names). */
export function parentOf(rel: string): string {
  const i = rel.lastIndexOf('/');
  return i < 0 ? '' : rel.slice(0, i);
}

/** The last component of a relative path. */
export function baseOf(rel: string): string {
  return rel.slice(rel.lastIndexOf('/') + 1);
}

/** Joins a relative directory and a name ('' is the root). */
export function joinRel(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`;
}
