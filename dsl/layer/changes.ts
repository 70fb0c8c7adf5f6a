import { promises as fsp, type BigIntStats } from 'node:fs';
import path from 'node:path';
import { isMissing, lstatOrUndefined as lstatBig } from '../core/fsutil.js';
import { joinRel, parentOf, sortByPath, type Change, type XattrFlavor } from './entry.js';
import { walkWithXattrs } from './walk.js';
import { isOpaque, isWhiteout, xattrKey } from './whiteout.js';
import { readXattrs } from './xattr.js';

const lstatOrUndefined = (p: string): Promise<BigIntStats | undefined> => lstatBig(p, { bigint: true });

type Xattrs = Record<string, Buffer> | undefined;

/** One overlay lower dir, with the xattrs of its objects (read all at once, or path by path and cached). */
interface Lower {
  dir: string;
  xattrs(rel: string): Promise<Xattrs>;
}

function eagerLower(dir: string, all: Map<string, Record<string, Buffer>>): Lower {
  return { dir, xattrs: async (rel) => all.get(rel) };
}

function lazyLower(dir: string): Lower {
  const cache = new Map<string, Promise<Xattrs>>();
  return {
    dir,
    xattrs(rel) {
      let p = cache.get(rel);
      if (!p) cache.set(rel, (p = readXattrs(path.join(dir, rel), false).then((m) => m.get(''))));
      return p;
    },
  };
}

/** The xattrs a whiteout test needs: only an empty regular file can be an xattr-marked whiteout. */
function whiteoutXattrs(l: Lower, rel: string, st: BigIntStats): Promise<Xattrs> {
  return st.isFile() && st.size === 0n ? l.xattrs(rel) : Promise.resolve(undefined);
}

/** Looks a path up in a stack of overlay lower dirs (top first), honouring their whiteouts and opaque dirs. */
async function lookupLower(lowers: Lower[], rel: string, flavor: XattrFlavor): Promise<{ st: BigIntStats; xattrs: Xattrs; layer: Lower } | undefined> {
  const comps = rel.split('/');
  for (const l of lowers) {
    const found: string[] = [];
    for (let i = 0; i < comps.length; i++) {
      const p = comps.slice(0, i + 1).join('/');
      const st = await lstatOrUndefined(path.join(l.dir, p));
      if (!st) break;
      if (isWhiteout(st, await whiteoutXattrs(l, p, st), flavor)) return undefined;
      if (i === comps.length - 1) return { st, xattrs: await l.xattrs(p), layer: l };
      if (!st.isDirectory()) return undefined;
      found.push(p);
    }
    // Not in this layer: an opaque directory on the way hides the layers below it.
    for (const p of found) if (isOpaque(await l.xattrs(p), flavor)) return undefined;
  }
  return undefined;
}

/** True when an upper directory holds the same metadata (mode, owner, mtime, xattrs) as the lower one it was copied up from. */
function sameDirMeta(a: BigIntStats, ax: Xattrs, b: BigIntStats, bx: Xattrs): boolean {
  return a.mode === b.mode && a.uid === b.uid && a.gid === b.gid && a.mtimeNs === b.mtimeNs && xattrKey(ax) === xattrKey(bx);
}

/** The pending changes of an overlay container: D for whiteouts, A for paths new to the lower stack, C for the rest. */
export async function overlayChanges(upperDir: string, lowerDirs: string[], flavor: XattrFlavor): Promise<Change[]> {
  const lowersP = Promise.all(lowerDirs.map(async (dir) => eagerLower(dir, await readXattrs(dir))));
  lowersP.catch(() => undefined);
  const { items, xattrs: upperX } = await walkWithXattrs(upperDir);
  const lowers = await lowersP;
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
    if (!isOpaqueDir && it.st.isDirectory() && lower.st.isDirectory() && sameDirMeta(it.st, xa, lower.st, lower.xattrs)) continue;
    changes.push({ kind: 'C', path: '/' + it.path });
    if (isOpaqueDir) {
      const names = new Set<string>();
      for (const l of lowers) {
        // A lower without the directory (or with a file there) has no children to hide; other failures throw.
        for (const n of await fsp.readdir(path.join(l.dir, it.path)).catch((e) => (isMissing(e) ? [] : Promise.reject(e)))) names.add(n);
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

/**
 * Removes from an overlay upper dir (unmounted) every directory that overlayfs copied up but that holds nothing
 * and differs in nothing (mode, owner, mtime, xattrs) from the directory below it: one whose child was made and
 * removed again with the times put back, as a run step's mount points are. The copying driver sees no change
 * there, and a layer holds a directory only when it changed or holds a change (docs/decisions.md, "Same layers
 * from both storage drivers"). The merged view stays the same. Returns how many were removed.
 */
export async function pruneCopiedUp(upperDir: string, lowerDirs: string[], flavor: XattrFlavor): Promise<number> {
  // Only empty directories can go: find them with readdir alone, and look closer at those only.
  const empty: { path: string }[] = [];
  const visit = async (rel: string): Promise<void> => {
    const ents = await fsp.readdir(path.join(upperDir, rel), { withFileTypes: true });
    if (ents.length === 0 && rel !== '') empty.push({ path: rel });
    for (const e of ents) if (e.isDirectory()) await visit(joinRel(rel, e.name));
  };
  await visit('');
  if (empty.length === 0) return 0;
  const upper = lazyLower(upperDir);
  const lowers = lowerDirs.map(lazyLower);
  const prunable = async (rel: string): Promise<boolean> => {
    const st = await lstatOrUndefined(path.join(upperDir, rel));
    const xa = await upper.xattrs(rel);
    if (!st?.isDirectory() || isOpaque(xa, flavor)) return false;
    // Below an opaque directory nothing was copied up: all is new.
    for (let p = parentOf(rel); p !== ''; p = parentOf(p)) if (isOpaque(await upper.xattrs(p), flavor)) return false;
    const lower = await lookupLower(lowers, rel, flavor);
    return !!lower?.st.isDirectory() && sameDirMeta(st, xa, lower.st, lower.xattrs);
  };
  // Children before parents; a parent left empty by the prune is looked at right after its child.
  const queue = sortByPath(empty).reverse().map((e) => e.path);
  let removed = 0;
  for (let i = 0; i < queue.length; i++) {
    const rel = queue[i];
    if (!(await prunable(rel))) continue;
    await fsp.rmdir(path.join(upperDir, rel));
    removed++;
    const parent = parentOf(rel);
    if (parent !== '' && (await fsp.readdir(path.join(upperDir, parent))).length === 0) queue.splice(i + 1, 0, parent);
  }
  return removed;
}
