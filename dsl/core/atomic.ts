import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { uniqueSuffix } from './unique.js';
import { crashPoint } from './crash.js';
import { CairnError } from './errors.js';

/** A unique temporary name beside target, so the final rename stays on one filesystem. */
export function tempBeside(target: string): string {
  return path.join(path.dirname(target), `.tmp-${path.basename(target)}-${uniqueSuffix()}`);
}

/** Writes data to file by temp-file + fsync + rename: readers see the old or the new content, never half. */
export async function writeFileAtomic(file: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  await fsp.mkdir(path.dirname(file), { recursive: true });
  const tmp = tempBeside(file);
  const fh = await fsp.open(tmp, 'wx', mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  crashPoint('store.record.before-rename');
  try {
    await fsp.rename(tmp, file);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
}

/** Writes value as JSON atomically. */
export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  await writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n');
}

/**
 * Reads a JSON file, or returns undefined when it does not exist. Any other failure (unreadable, a directory,
 * not JSON) throws a CairnError naming the file: callers fail closed rather than take it for absent.
 */
export async function readJson<T>(file: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CairnError(`cannot read ${file}: ${(err as Error).message}`, { cause: err, hint: 'run `cairn check` to find what is broken in the store' });
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new CairnError(`${file} is not valid JSON (${(err as Error).message})`, { cause: err, hint: 'run `cairn check` to find what is broken in the store' });
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
