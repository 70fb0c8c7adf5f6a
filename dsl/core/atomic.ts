import { closeSync, fsyncSync, openSync, promises as fsp, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { uniqueSuffix } from './unique.js';
import { crashPoint } from './crash.js';
import { CairnError } from './errors.js';
import { isMissing, makeDirs, makeDirsSync } from './fsutil.js';

/** A unique temporary name beside target, so the final rename stays on one filesystem. */
export function tempBeside(target: string): string {
  return path.join(path.dirname(target), `.tmp-${path.basename(target)}-${uniqueSuffix()}`);
}

/** Options of an atomic write. */
export interface AtomicWriteOptions {
  /** The new file's mode (default 0644). */
  mode?: number;
  /** A crash point (crash.ts) reached just before the rename; none by default. */
  crashAt?: string;
}

/** A failure to create the temp file beside file, told as a failure to write file (the name the user gave). */
export function asTargetError(err: NodeJS.ErrnoException, file: string): NodeJS.ErrnoException {
  return Object.assign(err, { path: file, syscall: 'write' });
}

/**
 * Writes data to file by temp-file (created exclusively beside it, so never through a symlink) + fsync +
 * rename: readers see the old or the new content, never half. The directory is made when missing.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array, o: AtomicWriteOptions = {}): Promise<void> {
  await makeDirs(path.dirname(file));
  const tmp = tempBeside(file);
  const fh = await fsp.open(tmp, 'wx', o.mode ?? 0o644).catch((err: NodeJS.ErrnoException) => {
    throw asTargetError(err, file);
  });
  try {
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    if (o.crashAt) crashPoint(o.crashAt);
    await fsp.rename(tmp, file);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
}

/** writeFileAtomic for synchronous callers (the pause process's files, exec's fstab): the same steps. */
export function writeFileAtomicSync(file: string, data: string | Uint8Array, o: AtomicWriteOptions = {}): void {
  makeDirsSync(path.dirname(file));
  const tmp = tempBeside(file);
  let fd: number;
  try {
    fd = openSync(tmp, 'wx', o.mode ?? 0o644);
  } catch (err) {
    throw asTargetError(err as NodeJS.ErrnoException, file);
  }
  try {
    try {
      writeFileSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (o.crashAt) crashPoint(o.crashAt);
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** Writes a store record as JSON atomically (crash point store.record.before-rename). */
export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  await writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n', { crashAt: 'store.record.before-rename' });
}

/**
 * Reads a JSON file, or returns undefined when it does not exist. Any other failure (unreadable, a directory,
 * not JSON) throws a CairnError naming the file: callers fail closed rather than take it for absent.
 * The read is synchronous: store records are small, and fs.promises' readFile costs five thread-pool round trips
 * a file (a cached Dockerfile build reads about fifty).
 */
export async function readJson<T>(file: string): Promise<T | undefined> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw new CairnError(`cannot read ${file}: ${(err as Error).message}`, { cause: err, hint: 'run `cairn check` to find what is broken in the store' });
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new CairnError(`${file} is not valid JSON (${(err as Error).message})`, { cause: err, kind: 'not-json', hint: 'run `cairn check` to find what is broken in the store' });
  }
}

/** Lists a directory: [] when it does not exist, any other failure thrown (a listing never fails open). */
export async function readDirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await fsp.readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new CairnError(`cannot list ${dir}: ${(err as Error).message}`, { cause: err, hint: 'run `cairn check` to find what is broken in the store' });
  }
}
