import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { mountPoints, unmount } from '../core/mounts.js';
import { readDirOrEmpty } from '../core/atomic.js';
import { isErrorKind } from '../core/errors.js';
import { lstatOrUndefined, makeDirs } from '../core/fsutil.js';
import { isLocked, tryAcquire } from './lock.js';
import type { Store } from './store.js';
import { creatorAlive, suffixCreator, uniqueSuffix } from '../core/unique.js';

/*
 * What killed verbs leave in a store, found without guessing from age where the store can tell: temporary
 * names carry their creator's PID (unique.ts), a working container exists once its name is published
 * (containers.ts), and a run step's scratch directory lives only while its container's lock is held.
 * The caller holds the store lock exclusively, so no verb that takes it is half-way through.
 */

/** One thing wrong in a store: a line to print and, when there is one, the repair. */
export interface Problem {
  /** One line: where, and what is wrong. */
  text: string;
  /** What the repair does, in a word or two ("removed"); absent when it is only reported. */
  fixText?: string;
  /** The repair. */
  fix?: () => Promise<void>;
}

/** Temporary files with no PID in their name are a killed verb's once older than this. */
const UNKNOWN_AGE_MS = 3600_000;

/** Mount points (of this mount namespace) at or below dir, deepest first. */
export async function mountsBelow(dir: string): Promise<string[]> {
  return [...(await mountPoints())].filter((m) => m === dir || m.startsWith(dir + '/')).sort((a, b) => b.length - a.length);
}

/** Unmounts everything at or below dir, then removes it. */
export async function removeTree(dir: string): Promise<void> {
  for (const m of await mountsBelow(dir)) await unmount(m);
  await fsp.rm(dir, { recursive: true, force: true });
}

/** Moves a broken file or directory into <root>/lost+found (nothing a user may want is ever deleted by check). */
export async function quarantine(store: Store, p: string): Promise<string> {
  const dir = path.join(store.paths.root, 'lost+found');
  await makeDirs(dir, 0o700);
  const dst = path.join(dir, `${path.basename(p)}-${uniqueSuffix()}`);
  for (const m of await mountsBelow(p)) await unmount(m);
  await fsp.rename(p, dst);
  return dst;
}

/** The path of p relative to the store root, for messages. */
export function rel(store: Store, p: string): string {
  return path.relative(store.paths.root, p) || '.';
}

/** Why a record could not be read, in a few words (the line names its path already). */
export function unreadable(err: unknown): string {
  if (isErrorKind(err, 'not-json')) return 'not valid JSON';
  if (isErrorKind(err, 'malformed')) return 'malformed';
  return ((err as { cause?: NodeJS.ErrnoException }).cause ?? (err as NodeJS.ErrnoException)).code ?? (err as Error).message;
}

/** True when a temporary entry (named with uniqueSuffix, else judged by age) belongs to no live verb. */
export async function leftoverTemp(p: string, name = path.basename(p)): Promise<boolean> {
  const c = suffixCreator(name);
  if (c) return !creatorAlive(c.pid, c.time);
  const st = await lstatOrUndefined(p);
  return !!st && st.mtimeMs < Date.now() - UNKNOWN_AGE_MS;
}

/** True when any working container's lock is held (a run step may be using its scratch under tmp/). */
async function anyContainerLocked(store: Store): Promise<boolean> {
  for (const n of await readDirOrEmpty(store.paths.locks)) {
    if (n.startsWith('container-') && isLocked(path.join(store.paths.locks, n))) return true;
  }
  return false;
}

function leftover(store: Store, p: string, what: string): Problem {
  return { text: `${rel(store, p)}: ${what}`, fixText: 'removed', fix: () => removeTree(p) };
}

/** Leftovers in tmp/: temporary files and scratch directories of killed verbs (mounts below them included). */
async function tmpLeftovers(store: Store): Promise<Problem[]> {
  const names = await readDirOrEmpty(store.paths.tmp);
  // Listed first, locks looked at second: a run step's scratch exists only while its container's lock is held.
  const runs = names.some((n) => n.startsWith('run-')) && !(await anyContainerLocked(store));
  const out: Problem[] = [];
  for (const n of names) {
    const p = path.join(store.paths.tmp, n);
    const dead = n.startsWith('run-') && !suffixCreator(n) ? runs : await leftoverTemp(p);
    if (dead) out.push(leftover(store, p, 'left by an interrupted verb'));
  }
  return out;
}

/** Leftovers among the layers: half-extracted trees (trash being deleted is gc's alone, never a problem). */
async function layerLeftovers(store: Store): Promise<Problem[]> {
  const out: Problem[] = [];
  for (const n of await readDirOrEmpty(store.paths.layers)) {
    const p = path.join(store.paths.layers, n);
    if (n.startsWith('.tmp-') && (await leftoverTemp(p))) out.push(leftover(store, p, 'a half-written layer of an interrupted verb'));
  }
  return out;
}

/** Half-written records (temp files beside images and container records). */
async function recordTemps(store: Store, dir: string): Promise<Problem[]> {
  const out: Problem[] = [];
  for (const n of await readDirOrEmpty(dir)) {
    const p = path.join(dir, n);
    if (n.startsWith('.tmp-') && (await leftoverTemp(p))) out.push(leftover(store, p, 'a half-written record of an interrupted verb'));
  }
  return out;
}

/** Container directories no published name points at, dead name links, half-written container records. */
async function containerLeftovers(store: Store): Promise<Problem[]> {
  const out: Problem[] = [];
  const c = store.containers;
  for (const id of await c.ids()) {
    const dir = store.paths.container(id);
    let rec;
    try {
      rec = await c.get(id);
    } catch (err) {
      out.push({ text: `${rel(store, dir)}: the container record cannot be read (${unreadable(err)})`, fixText: 'moved to lost+found', fix: async () => void (await quarantine(store, dir)) });
      continue;
    }
    if (!rec) {
      const st = await lstatOrUndefined(dir);
      if (st && !st.isDirectory()) out.push(leftover(store, dir, 'not a container directory'));
      else out.push(leftover(store, dir, 'a container with no record (an interrupted `cairn from` or `cairn rm`)'));
      continue;
    }
    if (!(await c.published(rec))) {
      out.push(leftover(store, dir, `container ${rec.name || id.slice(0, 12)} was never published (an interrupted \`cairn from\`)`));
      continue;
    }
    out.push(...(await recordTemps(store, dir)));
  }
  for (const { name, holder } of await c.names()) {
    const link = path.join(c.namesDir, name);
    if (holder === '' || !/^[0-9a-f]{64}$/.test(holder)) {
      out.push(leftover(store, link, 'not a container name link'));
      continue;
    }
    // An unreadable record is reported by containerLeftovers (null here: not "no longer exists").
    const rec = await c.get(holder).catch(() => null);
    if (rec === undefined) {
      out.push({ text: `${rel(store, link)}: the name points at container ${holder.slice(0, 12)}, which no longer exists (an interrupted \`cairn rm\`)`, fixText: 'freed', fix: async () => void (await c.dropDeadName(name)) });
    } else if (rec && rec.name !== name) {
      out.push({ text: `${rel(store, link)}: a second name of container ${rec.name} (an interrupted \`cairn rename\`)`, fixText: 'freed', fix: () => c.releaseName(name, holder) });
    }
  }
  return out;
}

/**
 * Mounts below the store root that nothing explains. Those below tmp/, a container's directory or a half-made
 * layer go with their directory when that is a leftover (a live verb's, or a published container's, are theirs).
 */
async function strayMounts(store: Store): Promise<Problem[]> {
  // Half-made layers (an overlay test mount among them) go with their directory too.
  const own = [store.paths.tmp + '/', store.paths.containers + '/', path.join(store.paths.root, 'exec') + '/', path.join(store.paths.layers, '.tmp-')];
  return (await mountsBelow(store.paths.root))
    .filter((m) => m !== store.paths.root && !own.some((d) => m.startsWith(d)))
    .map((m) => ({ text: `${rel(store, m)}: a stale mount`, fixText: 'unmounted', fix: () => unmount(m) }));
}

/** Lock files of containers that no longer exist and that nobody holds (not a problem: tidied quietly). */
export async function deadLockFiles(store: Store): Promise<string[]> {
  const out: string[] = [];
  for (const n of await readDirOrEmpty(store.paths.locks)) {
    const m = /^container-([0-9a-f]{64})\.lock$/.exec(n);
    if (!m) continue;
    if (await fsp.lstat(store.paths.container(m[1])).then(() => true, () => false)) continue;
    out.push(n.slice(0, -'.lock'.length));
  }
  return out;
}

/** Removes the lock file of a gone container, unless someone holds it right now. */
export async function removeLockFile(store: Store, name: string): Promise<void> {
  const h = await tryAcquire(store.paths.locks, { name });
  if (!h) return;
  try {
    await fsp.rm(path.join(store.paths.locks, name + '.lock'), { force: true });
  } finally {
    h.release();
  }
}

/** Everything killed verbs left in the store (the caller holds the store lock exclusively). */
export async function findLeftovers(store: Store): Promise<Problem[]> {
  return [
    ...(await tmpLeftovers(store)),
    ...(await layerLeftovers(store)),
    ...(await recordTemps(store, store.paths.images)),
    ...(await containerLeftovers(store)),
    ...(await strayMounts(store)),
  ];
}
