import { promises as fsp, type BigIntStats } from 'node:fs';
import path from 'node:path';
import { joinRel, parentOf, sortByPath, type Change, type XattrFlavor } from './entry.js';
import { walkTree } from './walk.js';
import { isOpaque, isWhiteout } from './whiteout.js';
import { readXattrs } from './xattr.js';

async function lstatOrUndefined(p: string): Promise<BigIntStats | undefined> {
  try {
    return await fsp.lstat(p, { bigint: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}

interface Lower {
  dir: string;
  xattrs: Map<string, Record<string, Buffer>>;
}

/** Looks a path up in a stack of overlay lower dirs (top first), honouring their whiteouts and opaque dirs. */
async function lookupLower(lowers: Lower[], rel: string, flavor: XattrFlavor): Promise<BigIntStats | undefined> {
  const comps = rel.split('/');
  for (const l of lowers) {
    let hidesBelow = false;
    for (let i = 0; i < comps.length; i++) {
      const p = comps.slice(0, i + 1).join('/');
      const st = await lstatOrUndefined(path.join(l.dir, p));
      if (!st) break;
      const xa = l.xattrs.get(p);
      if (isWhiteout(st, xa, flavor)) return undefined;
      if (i === comps.length - 1) return st;
      if (!st.isDirectory()) return undefined;
      if (isOpaque(xa, flavor)) hidesBelow = true;
    }
    if (hidesBelow) return undefined;
  }
  return undefined;
}

function sameDirMeta(a: BigIntStats, b: BigIntStats): boolean {
  return a.mode === b.mode && a.uid === b.uid && a.gid === b.gid && a.mtimeNs === b.mtimeNs;
}

/** The pending changes of an overlay container: D for whiteouts, A for paths new to the lower stack, C for the rest. */
export async function overlayChanges(upperDir: string, lowerDirs: string[], flavor: XattrFlavor): Promise<Change[]> {
  const [items, upperX, lowers] = await Promise.all([
    walkTree(upperDir),
    readXattrs(upperDir),
    Promise.all(lowerDirs.map(async (dir) => ({ dir, xattrs: await readXattrs(dir) }))),
  ]);
  const opaque = new Set<string>();
  const changes: Change[] = [];
  const underOpaque = (rel: string): boolean => {
    for (let p = parentOf(rel); p !== ''; p = parentOf(p)) if (opaque.has(p)) return true;
    return false;
  };
  for (const it of items) {
    const xa = upperX.get(it.path);
    const lower = underOpaque(it.path) ? undefined : await lookupLower(lowers, it.path, flavor);
    if (isWhiteout(it.st, xa, flavor)) {
      if (lower) changes.push({ kind: 'D', path: '/' + it.path });
      continue;
    }
    const isOpaqueDir = it.st.isDirectory() && isOpaque(xa, flavor);
    if (isOpaqueDir) opaque.add(it.path);
    if (!lower) {
      changes.push({ kind: 'A', path: '/' + it.path });
      continue;
    }
    // A directory overlayfs only copied up to hold a changed child keeps the lower's metadata: not a change.
    if (!isOpaqueDir && it.st.isDirectory() && lower.isDirectory() && sameDirMeta(it.st, lower)) continue;
    changes.push({ kind: 'C', path: '/' + it.path });
    if (isOpaqueDir) {
      const names = new Set<string>();
      for (const l of lowers) {
        for (const n of await fsp.readdir(path.join(l.dir, it.path)).catch(() => [] as string[])) names.add(n);
      }
      for (const n of names) {
        const child = joinRel(it.path, n);
        if (await lstatOrUndefined(path.join(upperDir, child))) continue;
        if (await lookupLower(lowers, child, flavor)) changes.push({ kind: 'D', path: '/' + child });
      }
    }
  }
  return sortByPath(changes);
}
