import { mkdirSync, promises as fsp, readFileSync, readSync, statSync, type BigIntStats, type Dirent, type Stats } from 'node:fs';
import path from 'node:path';

/*
 * The one rule for "absent": only ENOENT (nothing there) and ENOTDIR (a parent is not a directory, so nothing
 * can be there) mean that a path does not exist. Every other failure (EACCES, EIO, ELOOP, EMFILE…) is thrown:
 * taking it for "absent" would turn an error into a wrong answer.
 */

/** True when err says the path does not exist (ENOENT, or ENOTDIR: a parent is not a directory). */
export function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** lstat that answers undefined for a missing path (other errors are thrown); bigint stats on request. */
export async function lstatOrUndefined(p: string): Promise<Stats | undefined>;
export async function lstatOrUndefined(p: string, opts: { bigint: true }): Promise<BigIntStats | undefined>;
export async function lstatOrUndefined(p: string, opts?: { bigint: boolean }): Promise<Stats | BigIntStats | undefined> {
  try {
    return await fsp.lstat(p, opts?.bigint ? { bigint: true } : undefined);
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

/** stat (symlinks followed) that answers undefined for a missing path (other errors are thrown). */
export async function statOrUndefined(p: string): Promise<Stats | undefined> {
  try {
    return await fsp.stat(p);
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

/**
 * The entries of directory dir (with their types), [] when it does not exist. Only ENOENT counts as absent
 * here: a dir that is not a directory (ENOTDIR), or that cannot be read, throws.
 */
export async function direntsOrEmpty(dir: string): Promise<Dirent[]> {
  try {
    return await fsp.readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** A file's text, or undefined when it is missing (other errors are thrown). */
export async function readTextOrUndefined(file: string): Promise<string | undefined> {
  try {
    return await fsp.readFile(file, 'utf8');
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

/** A file's text, read synchronously, or undefined when it is missing (other errors are thrown). */
export function readTextOrUndefinedSync(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

/** Reads up to size bytes of an open file from its start (fewer when it is shorter), in one buffer. */
export function readFd(fd: number, size: number): Buffer {
  const buf = Buffer.alloc(size);
  let n = 0;
  while (n < buf.length) {
    const r = readSync(fd, buf, n, buf.length - n, n);
    if (r === 0) break;
    n += r;
  }
  return buf.subarray(0, n);
}

/** The error mkdir gives for a file in the way of a directory. */
function notDir(dir: string, at: string): Error {
  return Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${dir}'`), { code: 'ENOTDIR', path: at, syscall: 'mkdir' });
}

/** mkdir of one directory that may have appeared meanwhile. */
function madeOrThere(err: unknown): void {
  if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
}

/**
 * mkdir -p: makes dir and its missing parents (new ones with mode). Node's own recursive mkdir never returns
 * where a parent exists but refuses new entries with ENOENT (/proc, /sys): here that error is thrown.
 */
export async function makeDirs(dir: string, mode?: number): Promise<void> {
  const missing: string[] = [];
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    const st = await statOrUndefined(d);
    if (st && !st.isDirectory()) throw notDir(dir, d);
    if (st) break;
    missing.unshift(d);
    if (path.dirname(d) === d) break;
  }
  for (const d of missing) await fsp.mkdir(d, { mode }).catch(madeOrThere);
}

/** makeDirs, synchronously. */
export function makeDirsSync(dir: string, mode?: number): void {
  const missing: string[] = [];
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    let st: Stats | undefined;
    try {
      st = statSync(d);
    } catch (err) {
      if (!isMissing(err)) throw err;
    }
    if (st && !st.isDirectory()) throw notDir(dir, d);
    if (st) break;
    missing.unshift(d);
    if (path.dirname(d) === d) break;
  }
  for (const d of missing) {
    try {
      mkdirSync(d, { mode });
    } catch (err) {
      madeOrThere(err);
    }
  }
}
