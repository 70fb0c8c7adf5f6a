import fs, { promises as fsp, type Stats } from 'node:fs';
import path from 'node:path';
import { NotFoundError, BadInputError } from '../core/errors.js';
import { lstatOrUndefined } from '../core/fsutil.js';
import { InRoot, type Located } from '../layer/inroot.js';
import { elfDeps, isElf, type ElfProgram } from './deps/elf.js';
import { depLayout, type DepLayout } from './deps/layout.js';
import { glob, isGlob } from './glob.js';
import type { Ids } from './users.js';
import { crashArmed } from '../core/crash.js';
import { progressOf, type ProgressTarget } from '../core/progress.js';
import { LeafCopier, unmappedOwner } from './copy-leaves.js';

/** Options of copy. */
export interface CopyOptions {
  /** Owner for every copied file (default 0:0, as buildah and docker). */
  owner?: Ids;
  /** Mode for every copied file, e.g. 0o755. */
  mode?: number;
  /** Where relative sources are found (the host cwd, or another container's root for --from). */
  sourceRoot?: string;
  /** With a sourceRoot, sources are container paths resolved inside it. */
  contained?: boolean;
  /** Bring ELF programs' loader and shared libraries along. */
  withDeps?: boolean;
  /**
   * With withDeps: libraries the programs dlopen() (no DT_NEEDED names them), as sonames found the way the
   * program's dlopen() finds them or as absolute paths in the source; each comes with its own libraries.
   */
  extraLibs?: string[];
  /** The container's working dir, for a relative dest. */
  workdir?: string;
  /**
   * When root is a mounted view over a directory of pending changes (Driver.detachUpper): ends the view and
   * returns that directory. A directory source copied to a directory new to the tree is then written there
   * directly, without the view's cost per file (overlayfs doubles the cost of creating a file).
   */
  detachUpper?: () => Promise<string>;
  /** Progress events (bytes copied) for this file set, under step id as item. */
  progress?: ProgressTarget;
}

/** Parses a --chmod value (octal). */
export function parseMode(s: string): number {
  if (!/^[0-7]{3,4}$/.test(s)) throw new BadInputError(`invalid --chmod ${s}`, { hint: 'give an octal mode such as 0755' });
  return parseInt(s, 8);
}

/** Where copied files come from: a plain host path, or a path pinned inside another container's root. */
interface Source {
  /** The path to read (for contained sources, fd-anchored below a verified directory). */
  path: string;
  /** For contained sources: the source root and the physical path inside it. */
  inside?: { root: InRoot; rel: string };
}

/** The child `name` of directory source src. */
function childOf(src: Source, name: string): Source {
  if (!src.inside) return { path: path.join(src.path, name) };
  const rel = src.inside.rel ? `${src.inside.rel}/${name}` : name;
  return { path: src.inside.root.locate(rel).path, inside: { root: src.inside.root, rel } };
}

/** The directory to list for directory source src. */
function listable(src: Source): string {
  return src.inside ? src.inside.root.dirPath(src.inside.rel) : src.path;
}

/** A copy in progress: the destination root, the leaf copier and the directories whose metadata comes last. */
interface Copy {
  dest: InRoot;
  o: CopyOptions;
  leaves: LeafCopier;
  /** Directories made or merged, with their source's stat: owner, mode and times are set once all is in. */
  dirs: { dst: string; st: Stats }[];
  /** Directories named by the queued leaves: each is an open descriptor until the next flush. */
  open: number;
  /** Bytes of the queued leaves, and of those copied so far (for progress). */
  queued: number;
  copied: number;
  /** The reporter of o.progress (throttled), when asked for. */
  reporter?: (done: number, finished?: boolean) => void;
}

/** Emits the progress of a copy that asked for it (o.progress). */
function report(c: Copy, finished = false): void {
  // A copy that wrote nothing (the outer one, when the work went below the view) has no line of its own.
  if (!c.reporter || (finished && c.copied === 0)) return;
  c.reporter(c.copied, finished);
}

/** Queued leaves may name at most this many directories (descriptors held open) before they are copied. */
const MAX_OPEN_DIRS = 512;

/** Copies the leaves gathered so far; afterwards the resolver may close the directories they named. */
async function flush(c: Copy): Promise<void> {
  for (const rel of await c.leaves.flush(fs)) c.dest.forget(rel);
  c.open = 0;
  c.dest.trim(1024);
  c.copied += c.queued;
  c.queued = 0;
  report(c);
}

/** Queues a file or symlink src for the name dst (fd-anchored below a verified directory); rel is its path in the root. */
async function queueLeaf(c: Copy, src: Source, st: Stats, dst: string, rel: string): Promise<void> {
  if (!st.isFile() && !st.isSymbolicLink()) {
    throw new BadInputError(`cannot copy ${src.inside ? '/' + src.inside.rel : src.path}: only files, directories and symlinks can be copied`);
  }
  const job = { src: src.path, dst, rel, symlink: st.isSymbolicLink(), mode: c.o.mode ?? st.mode & 0o7777, atime: st.atimeMs / 1000, mtime: st.mtimeMs / 1000 };
  c.queued += st.size;
  if (c.leaves.add(job, st.size)) await flush(c);
}

/** Sets owner, mode and times of a copied directory (never following it). */
async function setDirMeta(dst: string, st: Stats, o: CopyOptions): Promise<void> {
  const owner = o.owner ?? { uid: 0, gid: 0 };
  if (process.getuid?.() === 0) {
    await fsp.lchown(dst, owner.uid, owner.gid).catch((err: NodeJS.ErrnoException) => Promise.reject(err.code === 'EINVAL' ? unmappedOwner(dst, owner) : err));
  }
  await fsp.chmod(dst, o.mode ?? st.mode & 0o7777);
  await fsp.lutimes(dst, st.atime, st.mtime);
}

/**
 * Copies src (recursively) to the container path dst. Every destination directory is located inside the root
 * (its parents verified, itself never followed); files and symlinks go below them to the leaf copier.
 */
async function copyEntry(c: Copy, src: Source, st: Stats, dst: string): Promise<void> {
  const loc = c.dest.locate(dst, { create: true });
  if (!st.isDirectory()) return queueLeaf(c, src, st, loc.path, loc.rel);
  if (loc.stat && !loc.stat.isDirectory()) {
    await fsp.rm(loc.path, { force: true });
    loc.stat = undefined;
  }
  if (!loc.stat) await fsp.mkdir(loc.path, { mode: st.mode & 0o7777 });
  if (++c.open > MAX_OPEN_DIRS) await flush(c);
  const here = c.dest.dirPath(loc.rel);
  const dirs: { s: Source; st: Stats; n: string }[] = [];
  for (const n of fs.readdirSync(listable(src)).sort()) {
    const s = childOf(src, n);
    const cst = fs.lstatSync(s.path);
    if (cst.isDirectory()) dirs.push({ s, st: cst, n });
    else await queueLeaf(c, s, cst, `${here}/${n}`, loc.rel ? `${loc.rel}/${n}` : n);
  }
  for (const d of dirs) await copyEntry(c, d.s, d.st, path.posix.join(dst, d.n));
  c.dirs.push({ dst, st });
}

/** Expands sources (globs; inside the source root when contained) to what to read; missing ones are an error. */
async function expand(sources: string[], o: CopyOptions, from?: InRoot): Promise<{ src: Source; name: string }[]> {
  const out: { src: Source; name: string }[] = [];
  for (const s of sources) {
    if (from) {
      const loc = from.locate(s, { follow: true });
      if (!loc.stat) throw new NotFoundError(`copy source ${s} does not exist in the --from container`);
      out.push({ src: { path: loc.path, inside: { root: from, rel: loc.rel } }, name: path.posix.basename(loc.rel) || path.posix.basename(s) });
      continue;
    }
    const base = o.sourceRoot ?? process.cwd();
    const hits = isGlob(s) ? await glob(s, base) : [path.resolve(base, s)];
    if (hits.length === 0 || !(await lstatOrUndefined(hits[0]))) throw new NotFoundError(`copy source ${s} does not exist`, { hint: 'check the path (relative sources are taken from the current directory)' });
    out.push(...hits.map((h) => ({ src: { path: h }, name: path.basename(h) })));
  }
  return out;
}

/** The lstat of a source, following it once when it is a symlink named by the user (as cp does for its arguments). */
async function sourceStat(src: Source): Promise<{ src: Source; st: Stats }> {
  if (!src.inside) return { src, st: await fsp.stat(src.path) };
  // Contained sources were located with their last symlink followed inside the source root.
  return { src, st: await fsp.lstat(src.path) };
}

/**
 * Copies host files into the container root, with buildah's rules: a directory source copies its
 * contents; several sources, or a dest ending in '/' or naming a directory, copy into that directory.
 * Nothing is written outside root and nothing is read outside the --from root: every path is located
 * inside its root by the in-root resolver.
 */
export async function copyInto(root: string, sources: string[], dest: string, o: CopyOptions = {}): Promise<string[]> {
  if (o.extraLibs?.length && !o.withDeps) {
    throw new BadInputError('extra libraries (--extra-lib) are copied only with their programs\' dependencies', { hint: 'add --with-deps (withDeps: true)' });
  }
  const to = InRoot.open(root);
  const from = o.contained && o.sourceRoot ? InRoot.open(o.sourceRoot) : undefined;
  try {
    const srcs = await expand(sources, o, from);
    const ctrDest = path.posix.resolve(o.workdir ?? '/', dest);
    const destLoc = to.locate(ctrDest, { follow: true });
    const intoDir = dest.endsWith('/') || srcs.length > 1 || (destLoc.stat?.isDirectory() ?? false);
    const c = newCopy(to, o);
    const placed: string[] = [];
    /** The files copied (not directories): the programs whose libraries withDeps brings, and where each went. */
    const programs: { src: Source; at: string }[] = [];
    try {
      for (const { src: s0, name } of srcs) {
        const { src, st } = await sourceStat(s0);
        if (st.isDirectory()) {
          to.mkdirp(ctrDest);
          const rel = '/' + to.resolve(ctrDest);
          // A new directory holds nothing of the layers below: its content is the same written below the view or through it.
          if (!destLoc.stat && srcs.length === 1 && !o.withDeps && o.detachUpper) await copyBelowView(await o.detachUpper(), src, st, rel, o);
          else await copyEntry(c, src, st, rel);
        } else {
          const target = intoDir ? path.posix.join(ctrDest, name) : ctrDest;
          const parent = to.mkdirp(path.posix.dirname(target));
          const loc = to.locate(path.posix.join('/', parent.rel, path.posix.basename(target)));
          await queueLeaf(c, src.inside ? src : { path: await fsp.realpath(src.path) }, st, loc.path, loc.rel);
          programs.push({ src, at: '/' + loc.rel });
        }
        placed.push(s0.path);
      }
      await finish(c);
      if (o.withDeps) await copyDeps(to, programs, o, from);
    } finally {
      await c.leaves.close();
    }
    return placed;
  } finally {
    to.close();
    from?.close();
  }
}

/** Copies directory src into the directory rel (made through the view, so it exists) of a detached view's upper dir. */
async function copyBelowView(upper: string, src: Source, st: Stats, rel: string, o: CopyOptions): Promise<void> {
  const dest = InRoot.open(upper);
  const c = newCopy(dest, o);
  try {
    await copyEntry(c, src, st, rel);
    await finish(c);
  } finally {
    await c.leaves.close();
    dest.close();
  }
}

function newCopy(dest: InRoot, o: CopyOptions): Copy {
  const owner = process.getuid?.() === 0 ? (o.owner ?? { uid: 0, gid: 0 }) : undefined;
  const c: Copy = { dest, o, leaves: new LeafCopier(owner, crashArmed('copy.into.after-file')), dirs: [], open: 0, queued: 0, copied: 0, reporter: o.progress && progressOf(o.progress) };
  // The first event starts the clock of the progress line.
  report(c);
  return c;
}

/** Copies what is still queued, then gives the directories their owner, mode and times (their content is in). */
async function finish(c: Copy): Promise<void> {
  await flush(c);
  for (const d of c.dirs) await setDirMeta(c.dest.locate(d.dst).path, d.st, c.o);
  c.dirs = [];
  report(c, true);
}

/**
 * Copies the loader and shared libraries of every ELF program among the copied files (and the extra libraries
 * they dlopen) to the paths the loader will open in the root: libraries found through $ORIGIN next to where
 * the program went, the others at their own paths, each laid out as in the source (see deps/layout.ts).
 */
async function copyDeps(to: InRoot, programs: { src: Source; at: string }[], o: CopyOptions, from?: InRoot): Promise<void> {
  const elves: ElfProgram[] = [];
  for (const p of programs) {
    // elfDeps reads a --from container's files as a sysroot: it takes their paths inside that root.
    if ((await fsp.stat(p.src.path)).isFile() && (await isElf(p.src.path))) elves.push({ file: p.src.inside ? '/' + p.src.inside.rel : p.src.path, at: p.at });
  }
  if (elves.length === 0 && !o.extraLibs?.length) return;
  const deps = await elfDeps(elves, { sysroot: from ? o.sourceRoot : undefined, extraLibs: o.extraLibs });
  const src = from ?? InRoot.open('/');
  const c = newCopy(to, { owner: { uid: 0, gid: 0 } });
  try {
    const layouts = deps.map((d) => depLayout(src, d));
    const done = new Set<string>();
    for (const l of layouts) {
      for (const link of l.links) {
        if (done.has(link.at)) continue;
        done.add(link.at);
        await copyLink(to, link.at, src.locate(link.src));
      }
      if (done.has(l.file.at)) continue;
      done.add(l.file.at);
      to.mkdirp(path.posix.dirname(l.file.at));
      const s = src.locate(l.file.src);
      await copyEntry(c, { path: s.path }, s.stat!, l.file.at);
    }
    await finish(c);
    for (const l of layouts) await ensureReaches(to, l);
  } finally {
    await c.leaves.close();
    if (!from) src.close();
  }
}

/**
 * Copies the source symlink src to the root's path at, at once (a later path may go through it). The root's
 * own object there stays when it is the same link, or a directory (or a link to one) holding the image's own
 * files; a file or another link is replaced, as copy does.
 */
async function copyLink(to: InRoot, at: string, src: Located): Promise<void> {
  to.mkdirp(path.posix.dirname(at));
  const loc = to.locate(at);
  const target = await fsp.readlink(src.path);
  if (loc.stat?.isDirectory()) return;
  if (loc.stat?.isSymbolicLink() && ((await fsp.readlink(loc.path)) === target || leadsToDir(to, at))) return;
  if (loc.stat) await fsp.rm(loc.path, { force: true });
  await fsp.symlink(target, loc.path);
  if (process.getuid?.() === 0) await fsp.lchown(loc.path, 0, 0);
  await fsp.lutimes(loc.path, src.stat!.atime, src.stat!.mtime);
}

/** True when the root's path at (followed inside the root) is a directory. */
function leadsToDir(to: InRoot, at: string): boolean {
  try {
    return to.locate(at, { follow: true }).stat?.isDirectory() ?? false;
  } catch {
    return false;
  }
}

/**
 * Makes sure the loader's path reaches the copied file. When the root kept a directory of its own where the
 * source had a symlink (a /lib that is a real directory), the path gets a symlink to the file instead.
 */
async function ensureReaches(to: InRoot, l: DepLayout): Promise<void> {
  const file = to.locate(l.file.at, { follow: true });
  let reached: string | undefined;
  try {
    const got = to.locate(l.path, { follow: true });
    if (got.stat?.isFile()) reached = got.rel;
  } catch {
    // A loop or a file on the way: the path gets its own link below.
  }
  if (reached === file.rel) return;
  to.mkdirp(path.posix.dirname(l.path));
  const loc = to.locate(l.path);
  if (loc.stat?.isDirectory()) throw new BadInputError(`cannot copy library ${l.path}: a directory is in the way`, { hint: 'remove it from the container first' });
  if (loc.stat) await fsp.rm(loc.path, { force: true });
  await fsp.symlink('/' + file.rel, loc.path);
  if (process.getuid?.() === 0) await fsp.lchown(loc.path, 0, 0);
  to.forget(loc.rel);
}
