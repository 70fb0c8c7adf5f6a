import { readlinkSync } from 'node:fs';
import path from 'node:path';
import { BadInputError, NotFoundError } from '../../core/errors.js';
import { InRoot, MAX_SYMLINKS } from '../../layer/inroot.js';
import type { ElfDep } from './elf.js';

/*
 * How a library found in the source root is laid out in the image so that the path the loader opens works the
 * same: the symlinks met on the way (a usrmerge `/lib -> usr/lib`, a soname `libfoo.so.1 -> libfoo.so.1.2.3`)
 * are copied as symlinks, and the regular file at its physical path. Source paths are resolved inside the
 * source root only (its links can never reach the host), and hold no symlink but maybe their last component.
 */

/** One library's layout: what to create in the image for `path` to reach the file. */
export interface DepLayout {
  /** The path the loader opens in the image. */
  path: string;
  /** Symlinks to make, in order: `at` in the image, a copy of the source symlink at physical path `src`. */
  links: { at: string; src: string }[];
  /** The regular file: `at` in the image, copied from physical path `src` of the source root. */
  file: { at: string; src: string };
}

/** The symlinks met resolving p inside the source root (physical paths, in order) and the regular file it names; null when missing. */
export function symlinkChain(r: InRoot, p: string): { links: string[]; file: string } | null {
  // As the kernel walks a path, with '..' clamped at the root: every prefix in `stack` is a real directory.
  const stack: string[] = [];
  const queue = p.split('/');
  const links: string[] = [];
  while (queue.length) {
    const c = queue.shift()!;
    if (c === '' || c === '.') continue;
    if (c === '..') {
      stack.pop();
      continue;
    }
    const at = '/' + [...stack, c].join('/');
    const loc = r.locate(at);
    if (!loc.stat) return null;
    if (loc.stat.isSymbolicLink()) {
      if (links.length >= MAX_SYMLINKS) throw new BadInputError(`too many levels of symbolic links resolving ${p}`, { hint: 'the image or path is malicious or broken; do not use it' });
      links.push(at);
      const target = readlinkSync(loc.path);
      if (target.startsWith('/')) stack.length = 0;
      queue.unshift(...target.split('/'));
      continue;
    }
    if (loc.stat.isDirectory()) {
      stack.push(c);
      continue;
    }
    // A file with more to come (`lib.so/x`, `lib.so/`) is ENOTDIR to the kernel.
    return queue.length === 0 && loc.stat.isFile() ? { links, file: at } : null;
  }
  return null;
}

/**
 * The layout of dep read in source root r. Found where the loader looks (path = from): every symlink on the way
 * is kept. Found through $ORIGIN of a program copied elsewhere: only the soname links inside the library's own
 * directory move with it (they name a file in the same directory); any other shape becomes the file itself.
 */
export function depLayout(r: InRoot, dep: ElfDep): DepLayout {
  const chain = symlinkChain(r, dep.from);
  if (!chain) throw new NotFoundError(`${dep.from} disappeared from the source while being copied`);
  if (dep.path === dep.from) {
    return { path: dep.path, links: chain.links.map((l) => ({ at: l, src: l })), file: { at: chain.file, src: chain.file } };
  }
  const dir = '/' + r.resolve(path.posix.dirname(dep.from));
  const destDir = path.posix.dirname(dep.path);
  const links: DepLayout['links'] = [];
  let name = path.posix.basename(dep.from);
  for (let hops = 0; hops <= MAX_SYMLINKS; hops++) {
    const at = path.posix.join(dir, name);
    const loc = r.locate(at);
    if (loc.stat?.isFile()) return { path: dep.path, links, file: { at: path.posix.join(destDir, name), src: at } };
    if (!loc.stat?.isSymbolicLink()) break;
    const target = readlinkSync(loc.path);
    if (target.includes('/') || target === '.' || target === '..' || target === '') break;
    links.push({ at: path.posix.join(destDir, name), src: at });
    name = target;
  }
  return { path: dep.path, links: [], file: { at: dep.path, src: chain.file } };
}
