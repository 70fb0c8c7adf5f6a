import { constants as fsc, promises as fsp, type Stats } from 'node:fs';
import path from 'node:path';
import { NotFoundError, BadInputError } from '../core/errors.js';
import { lstatOrUndefined } from '../core/fsutil.js';
import { InRoot, type Located } from '../layer/inroot.js';
import { elfDeps, isElf } from './deps/elf.js';
import { glob, isGlob } from './glob.js';
import type { Ids } from './users.js';
import { crashPoint } from '../core/crash.js';

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
  /** The container's working dir, for a relative dest. */
  workdir?: string;
}

/** Parses a --chmod value (octal). */
export function parseMode(s: string): number {
  if (!/^[0-7]{3,4}$/.test(s)) throw new BadInputError(`invalid --chmod ${s}`, { hint: 'give an octal mode such as 0755' });
  return parseInt(s, 8);
}

class Limiter {
  private running = 0;
  private queue: (() => void)[] = [];
  constructor(private max: number) {}
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.running >= this.max) await new Promise<void>((r) => this.queue.push(r));
    this.running++;
    try {
      return await fn();
    } finally {
      this.running--;
      this.queue.shift()?.();
    }
  }
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

/** Copies one file or symlink to dst (located in the root, never followed). */
async function copyLeaf(src: Source, st: Stats, dst: Located, o: CopyOptions, dest: InRoot): Promise<void> {
  if (dst.stat) {
    await fsp.rm(dst.path, { recursive: true, force: true });
    dest.forget(dst.rel);
  }
  if (st.isSymbolicLink()) await fsp.symlink(await fsp.readlink(src.path), dst.path);
  else if (st.isFile()) await copyFile(src.path, dst.path);
  else throw new BadInputError(`cannot copy ${src.inside ? '/' + src.inside.rel : src.path}: only files, directories and symlinks can be copied`);
  await setMeta(dst.path, st, o);
  crashPoint('copy.into.after-file');
}

/** Copies a regular file without following a symlink at either end (the source was lstat'ed as a file). */
async function copyFile(from: string, to: string): Promise<void> {
  const fh = await fsp.open(from, fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK);
  try {
    if (!(await fh.stat()).isFile()) throw new BadInputError(`cannot copy ${from}: it changed while being copied`);
  } finally {
    await fh.close();
  }
  // COPYFILE_EXCL opens the destination with O_EXCL, which never follows a symlink.
  await fsp.copyFile(from, to, fsc.COPYFILE_EXCL);
}

/** Sets owner, mode and times of a copied object (never following it). */
async function setMeta(dst: string, st: Stats, o: CopyOptions): Promise<void> {
  const owner = o.owner ?? { uid: 0, gid: 0 };
  if (process.getuid?.() === 0) {
    await fsp.lchown(dst, owner.uid, owner.gid).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EINVAL') throw err;
      throw new BadInputError(`cannot give ${path.basename(dst)} the owner ${owner.uid}:${owner.gid}: that id is not mapped in your user namespace`, {
        hint: 'add subordinate id ranges for your user to /etc/subuid and /etc/subgid, then run `pkill -u $USER -x sleep` so cairn maps them',
      });
    });
  }
  if (!st.isSymbolicLink()) await fsp.chmod(dst, o.mode ?? st.mode & 0o7777);
  await fsp.lutimes(dst, st.atime, st.mtime);
}

/**
 * Copies src (recursively) to the container path dst. Every destination is located inside the root (its
 * parents verified, itself never followed); directories are copied one at a time, the files of each in parallel.
 */
async function copyEntry(src: Source, st: Stats, dst: string, o: CopyOptions, dest: InRoot, lim: Limiter): Promise<void> {
  const loc = dest.locate(dst, { create: true });
  if (!st.isDirectory()) return copyLeaf(src, st, loc, o, dest);
  if (loc.stat && !loc.stat.isDirectory()) {
    await fsp.rm(loc.path, { force: true });
    loc.stat = undefined;
  }
  if (!loc.stat) await fsp.mkdir(loc.path, { mode: st.mode & 0o7777 });
  const names = await fsp.readdir(listable(src));
  const dirs: { s: Source; st: Stats; n: string }[] = [];
  await Promise.all(
    names.map((n) =>
      lim.run(async () => {
        const s = childOf(src, n);
        const cst = await fsp.lstat(s.path);
        if (cst.isDirectory()) dirs.push({ s, st: cst, n });
        else await copyLeaf(s, cst, dest.locate(path.posix.join(dst, n)), o, dest);
      }),
    ),
  );
  dest.trim(1024);
  for (const d of dirs.sort((a, b) => (a.n < b.n ? -1 : 1))) await copyEntry(d.s, d.st, path.posix.join(dst, d.n), o, dest, lim);
  await setMeta(dest.locate(dst).path, st, o);
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
  const to = InRoot.open(root);
  const from = o.contained && o.sourceRoot ? InRoot.open(o.sourceRoot) : undefined;
  try {
    const srcs = await expand(sources, o, from);
    const ctrDest = path.posix.resolve(o.workdir ?? '/', dest);
    const destLoc = to.locate(ctrDest, { follow: true });
    const intoDir = dest.endsWith('/') || srcs.length > 1 || (destLoc.stat?.isDirectory() ?? false);
    const lim = new Limiter(32);
    const placed: string[] = [];
    for (const { src: s0, name } of srcs) {
      const { src, st } = await sourceStat(s0);
      if (st.isDirectory()) {
        to.mkdirp(ctrDest);
        await copyEntry(src, st, '/' + to.resolve(ctrDest), o, to, lim);
      } else {
        const target = intoDir ? path.posix.join(ctrDest, name) : ctrDest;
        const parent = to.mkdirp(path.posix.dirname(target));
        const loc = to.locate(path.posix.join('/', parent.rel, path.posix.basename(target)));
        await copyLeaf(src.inside ? src : { path: await fsp.realpath(src.path) }, st, loc, o, to);
      }
      placed.push(s0.path);
    }
    if (o.withDeps) await copyDeps(to, srcs.map((x) => x.src), o);
    return placed;
  } finally {
    to.close();
    from?.close();
  }
}

/** Copies the loader and shared libraries of every ELF among files into the same paths in the root. */
async function copyDeps(to: InRoot, files: Source[], o: CopyOptions): Promise<void> {
  const elves: string[] = [];
  for (const f of files) {
    // elfDeps reads a --from container's files as a sysroot: it takes plain paths below that root.
    const p = f.inside && o.sourceRoot ? path.join(o.sourceRoot, f.inside.rel) : f.path;
    if ((await fsp.stat(f.path)).isFile() && (await isElf(f.path))) elves.push(p);
  }
  if (elves.length === 0) return;
  const deps = await elfDeps(elves, o.contained && o.sourceRoot ? { sysroot: o.sourceRoot } : undefined);
  const lim = new Limiter(8);
  for (const d of deps) {
    to.mkdirp(path.posix.dirname(d.path));
    const st = await fsp.stat(d.real);
    await copyEntry({ path: d.real }, st, d.path, { owner: { uid: 0, gid: 0 } }, to, lim);
  }
}
