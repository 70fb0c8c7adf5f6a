// Short constructors for layer entries, so that the corpus reads as a table.
import type { RawEntry } from './tar.js';

/** A regular file. */
export const F = (name: string, body = 'pwned\n', more: Partial<RawEntry> = {}): RawEntry => ({ name, body, ...more });
/** A directory. */
export const D = (name: string, more: Partial<RawEntry> = {}): RawEntry => ({ name, type: 'dir', ...more });
/** A symbolic link. */
export const L = (name: string, target: string): RawEntry => ({ name, type: 'symlink', linkname: target });
/** A hard link to an earlier name. */
export const H = (name: string, target: string): RawEntry => ({ name, type: 'link', linkname: target });
/** A FIFO. */
export const P = (name: string): RawEntry => ({ name, type: 'fifo', mode: 0o644 });
/** A character device. */
export const C = (name: string, major = 1, minor = 3): RawEntry => ({ name, type: 'char', devmajor: major, devminor: minor, mode: 0o666 });

/**
 * The missing-component trick: `h → /` and `a → /nonexistent/../h`; a path through `a` names the root again
 * once `..` climbs out of the missing directory, so `a/X` must land at ROOT/X.
 */
export const TRICK: RawEntry[] = [L('h', '/'), L('a', '/nonexistent/../h')];
