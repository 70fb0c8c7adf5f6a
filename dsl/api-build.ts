import { Container } from './api-container.js';
import { store, type StoreOptions } from './api.js';
import type { LeftContainer } from './store/failed-builds.js';

/*
 * What `cairn build` keeps of a build script's failed run: the containers it made and did not remove, listed
 * for inspection, until `--rm` or the script's next successful run removes them.
 */

/** A container a failed build script run left (ID and name). */
export type { LeftContainer } from './store/failed-builds.js';

/** The containers the failed runs of a build script (by its real path) left in the store. */
export async function failedBuildContainers(script: string, opts: StoreOptions = {}): Promise<LeftContainer[]> {
  const [s, { failedBuild }] = await Promise.all([store(opts), import('./store/failed-builds.js')]);
  return failedBuild(s, script);
}

/** Records containers a failed run of a build script left (added to those earlier failed runs left). */
export async function keepFailedBuildContainers(script: string, left: LeftContainer[], opts: StoreOptions = {}): Promise<void> {
  const [s, { keepFailedBuild }] = await Promise.all([store(opts), import('./store/failed-builds.js')]);
  await keepFailedBuild(s, script, left);
}

/** Removes containers by ID (those still there), then forgets the script's failed runs; returns the names removed. */
export async function removeBuildContainers(script: string | undefined, left: LeftContainer[], opts: StoreOptions = {}): Promise<string[]> {
  const [s, { clearFailedBuild }] = await Promise.all([store(opts), import('./store/failed-builds.js')]);
  const names: string[] = [];
  for (const c of left) {
    const rec = await s.containers.get(c.id);
    if (!rec) continue;
    try {
      await new Container(s, rec.id, rec.name).remove();
      names.push(rec.name);
    } catch {
      // Held by another process or half gone: left as it is (`cairn rm` says why).
    }
  }
  if (script !== undefined) await clearFailedBuild(s, script);
  return names;
}

/**
 * Frees the names of the containers the failed runs of a build script left, before the script runs again (it
 * may ask for the same names): each is renamed NAME-failed (or NAME-failed-N when taken), and stays listed
 * until a successful run removes it. Returns the new names.
 */
export async function setAsideFailedBuild(script: string, opts: StoreOptions = {}): Promise<LeftContainer[]> {
  const [s, { failedBuild, keepFailedBuild, clearFailedBuild }] = await Promise.all([store(opts), import('./store/failed-builds.js')]);
  const kept: LeftContainer[] = [];
  for (const c of await failedBuild(s, script)) {
    const rec = await s.containers.get(c.id);
    if (!rec) continue;
    let name = rec.name;
    if (!/-failed(-\d+)?$/.test(name)) {
      for (let n = 1; ; n++) {
        const candidate = `${rec.name}-failed${n === 1 ? '' : `-${n}`}`;
        if (!(await s.containers.find(candidate))) {
          name = (await new Container(s, rec.id, rec.name).rename(candidate)).name;
          break;
        }
      }
    }
    kept.push({ id: rec.id, name });
  }
  await clearFailedBuild(s, script);
  if (kept.length) await keepFailedBuild(s, script, kept);
  return kept;
}
