import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { writeJsonAtomic } from '../core/atomic.js';
import { makeDirs } from '../core/fsutil.js';
import type { Store } from './store.js';

/*
 * The containers a failed run of a build script left in a store, kept for the user to look into: one JSON
 * record per script (by the sha256 of its real path) under builds/, read and removed by the script's next
 * successful run, which removes those containers.
 */

/** A container a failed script run left. */
export interface LeftContainer {
  /** The container's ID. */
  id: string;
  /** Its name when it was recorded. */
  name: string;
}

/** The record file of a script. */
function recordOf(store: Store, script: string): string {
  return path.join(store.paths.builds, `${createHash('sha256').update(script).digest('hex')}.json`);
}

/** The containers the last failed runs of script left ([] when none is recorded). */
export async function failedBuild(store: Store, script: string): Promise<LeftContainer[]> {
  try {
    const rec = JSON.parse(await fsp.readFile(recordOf(store, script), 'utf8')) as { script: string; containers: LeftContainer[] };
    return rec.script === script && Array.isArray(rec.containers) ? rec.containers : [];
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || err instanceof SyntaxError) return [];
    throw err;
  }
}

/** Adds containers to the record of script's failed runs (those of earlier failed runs stay listed). */
export async function keepFailedBuild(store: Store, script: string, left: LeftContainer[]): Promise<void> {
  const all = new Map((await failedBuild(store, script)).map((c) => [c.id, c]));
  for (const c of left) all.set(c.id, c);
  await makeDirs(store.paths.builds);
  await writeJsonAtomic(recordOf(store, script), { script, containers: [...all.values()] });
}

/** Forgets script's failed runs (their containers are the caller's to remove). */
export async function clearFailedBuild(store: Store, script: string): Promise<void> {
  await fsp.rm(recordOf(store, script), { force: true });
}
