import { Container } from './api-container.js';
import { store, storeRoot, type StoreOptions } from './api.js';
import { events, type CairnEvent } from './core/events.js';
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

/**
 * One run of a build script in this process: what it makes is followed through the engine's events, and when it
 * ends its containers are settled: a success removes what earlier failed runs left; a failure keeps what it made
 * (recorded for the next run) or, with rm, removes it.
 */
export class BuildRun {
  /** The containers the script made and has not removed, by ID. */
  readonly made = new Map<string, LeftContainer & { root: string }>();
  /** The ID of the last image the script committed. */
  lastImage?: string;
  private readonly follow = (ev: CairnEvent) => {
    if (ev.type === 'image') this.lastImage = ev.id;
    if (ev.type !== 'container') return;
    if (ev.action === 'created') this.made.set(ev.id, { id: ev.id, name: ev.name, root: ev.root });
    else this.made.delete(ev.id);
  };

  private constructor(readonly script: string) {}

  /** Starts following a run of script (its real path), after freeing the names an earlier failed run's containers hold. */
  static async start(script: string): Promise<BuildRun> {
    await setAsideFailedBuild(script);
    const run = new BuildRun(script);
    events.on('event', run.follow);
    return run;
  }

  /** The script succeeded: removes what its earlier failed runs left, in every store it used; returns their names. */
  async succeeded(): Promise<string[]> {
    events.off('event', this.follow);
    const names: string[] = [];
    for (const root of new Set([await storeRoot(), ...[...this.made.values()].map((c) => c.root)])) {
      const left = await failedBuildContainers(this.script, { root });
      if (left.length) names.push(...(await removeBuildContainers(this.script, left, { root })));
    }
    return names;
  }

  /** The script failed: keeps its containers for inspection (recorded for its next run), or removes them (rm); returns their names. */
  async failed(rm: boolean): Promise<{ kept: string[]; removed: string[] }> {
    events.off('event', this.follow);
    const byRoot = new Map<string, LeftContainer[]>();
    for (const c of this.made.values()) byRoot.set(c.root, [...(byRoot.get(c.root) ?? []), { id: c.id, name: c.name }]);
    const out = { kept: [] as string[], removed: [] as string[] };
    for (const [root, left] of byRoot) {
      if (rm) out.removed.push(...(await removeBuildContainers(undefined, left, { root })));
      else {
        await keepFailedBuildContainers(this.script, left, { root });
        out.kept.push(...left.map((c) => c.name));
      }
    }
    return out;
  }
}
