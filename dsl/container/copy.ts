import { promises as fsp, type Stats } from 'node:fs';
import path from 'node:path';
import { NotFoundError, BadInputError } from '../errors.js';
import { lstatOrUndefined } from '../fsutil.js';
import { resolveInRoot } from '../layer/safepath.js';
import { elfDeps, isElf } from './elfdeps.js';
import { glob, isGlob } from './glob.js';
import type { Ids } from './users.js';

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


/** Copies one entry (recursively) to dst, a host path whose parent is a verified real directory in the root. */
async function copyEntry(src: string, dst: string, st: Stats, o: CopyOptions, lim: Limiter): Promise<void> {
  const existing = await lstatOrUndefined(dst);
  if (st.isDirectory()) {
    if (existing && !existing.isDirectory()) await fsp.rm(dst, { recursive: true, force: true });
    if (!existing || !existing.isDirectory()) await fsp.mkdir(dst, { mode: st.mode & 0o7777 });
    const names = await fsp.readdir(src);
    await Promise.all(
      names.map(async (n) => {
        const s = path.join(src, n);
        const cst = await lim.run(() => fsp.lstat(s));
        await copyEntry(s, path.join(dst, n), cst, o, lim);
      }),
    );
  } else {
    await lim.run(async () => {
      if (existing) await fsp.rm(dst, { recursive: true, force: true });
      if (st.isSymbolicLink()) await fsp.symlink(await fsp.readlink(src), dst);
      else if (st.isFile()) await fsp.copyFile(src, dst);
      else throw new BadInputError(`cannot copy ${src}: only files, directories and symlinks can be copied`);
    });
  }
  await lim.run(async () => {
    const owner = o.owner ?? { uid: 0, gid: 0 };
    if (process.getuid?.() === 0) {
      await fsp.lchown(dst, owner.uid, owner.gid).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EINVAL') throw err;
        throw new BadInputError(`cannot give ${path.basename(dst)} the owner ${owner.uid}:${owner.gid}: that id is not mapped in your user namespace`, {
          hint: 'add subordinate id ranges for your user to /etc/subuid and /etc/subgid, then run `pkill -u $USER -x sleep` so cairn maps them',
        });
      });
    }
    if (!st.isSymbolicLink()) {
      await fsp.chmod(dst, o.mode ?? st.mode & 0o7777);
      await fsp.utimes(dst, st.atime, st.mtime);
    } else await fsp.lutimes(dst, st.atime, st.mtime);
  });
}

/** Expands sources (globs; inside sourceRoot when contained) to host paths; missing ones are an error. */
async function expand(sources: string[], o: CopyOptions): Promise<string[]> {
  const out: string[] = [];
  for (const s of sources) {
    if (o.contained && o.sourceRoot) {
      out.push(await resolveInRoot(o.sourceRoot, s));
      if (!(await lstatOrUndefined(out[out.length - 1]))) throw new NotFoundError(`copy source ${s} does not exist in the --from container`);
      continue;
    }
    const base = o.sourceRoot ?? process.cwd();
    const hits = isGlob(s) ? await glob(s, base) : [path.resolve(base, s)];
    if (hits.length === 0 || !(await lstatOrUndefined(hits[0]))) throw new NotFoundError(`copy source ${s} does not exist`, { hint: 'check the path (relative sources are taken from the current directory)' });
    out.push(...hits);
  }
  return out;
}

/**
 * Copies host files into the container root, with buildah's rules: a directory source copies its
 * contents; several sources, or a dest ending in '/' or naming a directory, copy into that directory.
 * Nothing is written outside root: the dest is resolved inside it and symlinks there are never followed out.
 */
export async function copyInto(root: string, sources: string[], dest: string, o: CopyOptions = {}): Promise<string[]> {
  const srcs = await expand(sources, o);
  const ctrDest = path.posix.resolve(o.workdir ?? '/', dest);
  const destHost = await resolveInRoot(root, ctrDest);
  const destSt = await lstatOrUndefined(destHost);
  const intoDir = dest.endsWith('/') || srcs.length > 1 || (destSt?.isDirectory() ?? false);
  const lim = new Limiter(32);
  const placed: string[] = [];
  for (const src of srcs) {
    const st = await fsp.stat(src);
    if (st.isDirectory()) {
      await fsp.mkdir(destHost, { recursive: true });
      await copyEntry(src, destHost, st, { ...o, mode: o.mode }, lim);
    } else {
      const target = intoDir ? await resolveInRoot(root, path.posix.join(ctrDest, path.basename(src))) : destHost;
      await fsp.mkdir(path.dirname(target), { recursive: true });
      await copyEntry(src, target, st, o, lim);
    }
    placed.push(src);
  }
  if (o.withDeps) await copyDeps(root, srcs, o);
  return placed;
}

/** Copies the loader and shared libraries of every ELF among files into the same paths in root. */
async function copyDeps(root: string, files: string[], o: CopyOptions): Promise<void> {
  const elves: string[] = [];
  for (const f of files) if ((await fsp.stat(f)).isFile() && (await isElf(f))) elves.push(f);
  if (elves.length === 0) return;
  const deps = await elfDeps(elves, o.contained && o.sourceRoot ? { sysroot: o.sourceRoot } : undefined);
  const lim = new Limiter(8);
  for (const d of deps) {
    const target = await resolveInRoot(root, d.path);
    await fsp.mkdir(path.dirname(target), { recursive: true });
    await copyEntry(d.real, target, await fsp.stat(d.real), { owner: { uid: 0, gid: 0 } }, lim);
  }
}
