import { promises as fsp } from 'node:fs';
import path from 'node:path';
import picomatch from 'picomatch';
import { isMissing } from '../core/fsutil.js';

/*
 * Source globs of `copy`, as a shell expands them: each path component is matched on its own (picomatch, with
 * braces, extglobs, negation and globstar off, so only `*`, `?`, `[…]` and `\` escapes are special), and a
 * leading dot must be matched by a leading dot in the pattern.
 */

const MAGIC = /[*?[]/;
const OPTIONS: picomatch.PicomatchOptions = { dot: false, nobrace: true, noextglob: true, nonegate: true, noglobstar: true, posix: true };

/** True when p has glob characters. */
export function isGlob(p: string): boolean {
  return MAGIC.test(p);
}

/** A matcher of one path component against pattern part (a name, never a path). */
export function componentMatcher(part: string): (name: string) => boolean {
  return picomatch(part, OPTIONS);
}

/*
 * Only a path that leads nowhere is "no match": missing (ENOENT), through a non-directory (ENOTDIR), or a
 * symlink loop (ELOOP, which names nothing, as a shell's glob sees it). Any other failure (EACCES, EIO) is
 * thrown: a copy must not silently take fewer sources than the pattern names.
 */
function leadsNowhere(err: unknown): boolean {
  return isMissing(err) || (err as NodeJS.ErrnoException).code === 'ELOOP';
}

/** The entries of dir, sorted; [] when it leads nowhere. */
async function names(dir: string): Promise<string[]> {
  try {
    return (await fsp.readdir(dir)).sort();
  } catch (err) {
    if (leadsNowhere(err)) return [];
    throw err;
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await fsp.lstat(p);
    return true;
  } catch (err) {
    if (leadsNowhere(err)) return false;
    throw err;
  }
}

/** Expands a glob pattern (`*`, `?`, `[…]` per path component; no `**`) relative to cwd; sorted matches. */
export async function glob(pattern: string, cwd: string): Promise<string[]> {
  const abs = path.resolve(cwd, pattern);
  let bases = ['/'];
  for (const part of abs.split('/').filter(Boolean)) {
    const next: string[] = [];
    if (!MAGIC.test(part)) {
      for (const b of bases) if (await exists(path.join(b, part))) next.push(path.join(b, part));
    } else {
      const match = componentMatcher(part);
      for (const b of bases) for (const n of await names(b)) if (match(n)) next.push(path.join(b, n));
    }
    bases = next;
  }
  return bases;
}
