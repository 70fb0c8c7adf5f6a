import { promises as fsp } from 'node:fs';
import { lstatOrUndefined } from '../fsutil.js';
import path from 'node:path';
import { BadInputError } from '../errors.js';

const MAX_LINKS = 255;
const ESCAPE_HINT = 'the layer or path is malicious or broken; do not use it';

/** Cleans a tar entry name into a relative path ('' for the root); a name climbing above the root is refused. */
export function cleanEntryPath(name: string, what = 'entry'): string {
  const out: string[] = [];
  for (const c of name.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (out.length === 0) throw new BadInputError(`layer ${what} ${JSON.stringify(name)} points outside the root`, { hint: ESCAPE_HINT });
      out.pop();
      continue;
    }
    out.push(c);
  }
  return out.join('/');
}


/**
 * Resolves p below root as if root were '/': symlinks (absolute or relative) and '..' never leave root.
 * Returns the physical relative path (no symlink in it up to the last existing directory). With create,
 * missing directories are made; onDir sees every component verified or made as a real directory.
 */
async function resolve(root: string, p: string, opts: { followFinal: boolean; create?: boolean; onDir?: (rel: string) => void }): Promise<string> {
  const cur: string[] = [];
  const queue = p.split('/');
  let links = 0;
  let missing = false;
  while (queue.length) {
    const c = queue.shift()!;
    if (c === '' || c === '.') continue;
    if (c === '..') {
      cur.pop();
      continue;
    }
    const final = !queue.some((q) => q !== '' && q !== '.');
    if ((final && !opts.followFinal) || missing) {
      cur.push(c);
      continue;
    }
    const host = path.join(root, ...cur, c);
    const st = await lstatOrUndefined(host);
    if (st?.isSymbolicLink()) {
      if (++links > MAX_LINKS) throw new BadInputError(`too many levels of symbolic links resolving ${p}`, { hint: ESCAPE_HINT });
      const target = await fsp.readlink(host);
      if (target.startsWith('/')) cur.length = 0;
      queue.unshift(...target.split('/'));
      continue;
    }
    if (!st) {
      if (opts.create) {
        await fsp.mkdir(host, { mode: 0o755 });
        cur.push(c);
        opts.onDir?.(cur.join('/'));
        continue;
      }
      missing = true;
      cur.push(c);
      continue;
    }
    if (!st.isDirectory() && !final) {
      throw new BadInputError(`cannot resolve ${p}: /${[...cur, c].join('/')} is not a directory`, { hint: 'the path goes through a file' });
    }
    cur.push(c);
    if (st.isDirectory()) opts.onDir?.(cur.join('/'));
  }
  return cur.join('/');
}

/** The host path of container path p, following symlinks as if root were '/' and never leaving root; the last component may be missing. */
export async function resolveInRoot(root: string, p: string): Promise<string> {
  return path.join(root, await resolve(root, p, { followFinal: true }));
}

/** Resolves the parent directories of layer entries below a root, remembering directories known to be real. */
export class RootResolver {
  private dirs = new Set<string>();
  constructor(readonly root: string) {}

  /** The physical relative path of directory rel (created when missing and create is set; undefined when missing otherwise). */
  async dir(rel: string, create: boolean): Promise<string | undefined> {
    if (rel === '' || this.dirs.has(rel)) return rel;
    const phys = await resolve(this.root, rel, { followFinal: true, create, onDir: (d) => this.dirs.add(d) });
    if (this.dirs.has(phys)) return phys;
    const st = await lstatOrUndefined(path.join(this.root, phys));
    if (!st && !create) return undefined;
    if (!st?.isDirectory()) throw new BadInputError(`layer entry /${rel} is not a directory`, { hint: 'the layer puts a file where a directory should be' });
    this.dirs.add(phys);
    return phys;
  }

  /** Records that rel is now a real directory. */
  known(rel: string): void {
    this.dirs.add(rel);
  }

  /** Forgets rel and everything below it (call after removing or replacing it). */
  forget(rel: string): void {
    if (!this.dirs.delete(rel)) return;
    const prefix = rel + '/';
    for (const d of this.dirs) if (d.startsWith(prefix)) this.dirs.delete(d);
  }
}
