import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { isMountPoint, overlayOptions, unmount } from '../../core/mounts.js';
import { runTool } from '../../core/spawn.js';
import { MediaType } from '../../oci/types.js';
import { direntsOrEmpty, lstatOrUndefined, makeDirs } from '../../core/fsutil.js';
import type { ContainerRecord } from '../../store/containers.js';
import type { Store } from '../../store/store.js';
import { layerStack, type Driver, type SealOptions } from './driver.js';

function dirs(store: Store, rec: ContainerRecord) {
  const base = store.paths.container(rec.id);
  return { upper: path.join(base, 'upper'), work: path.join(base, 'work'), merged: path.join(base, 'merged') };
}

/** The lower directories of rec, top first, as names relative to the layers directory. */
async function lowers(store: Store, rec: ContainerRecord): Promise<string[]> {
  const stack = layerStack(rec);
  if (stack.length === 0) return [path.relative(store.paths.layers, await store.layers.empty())];
  for (const l of stack) await store.layers.ensure(l);
  // overlayfs refuses a directory given twice ("conflicting lowerdir path"); a layer's lower copy adds nothing its upper one does not.
  return [...new Set(stack.map((l) => path.relative(store.paths.layers, store.layers.dir(l.diffID))).reverse())];
}

async function exists(p: string): Promise<boolean> {
  return (await lstatOrUndefined(p)) !== undefined;
}

async function freshDir(dir: string): Promise<void> {
  await fsp.rm(dir, { recursive: true, force: true });
  await makeDirs(dir, 0o755);
}

/** The overlayfs driver: base layers and checkpoints are read-only lowers, pending changes the upper dir. */
export const overlayDriver: Driver = {
  async init(store, rec) {
    const d = dirs(store, rec);
    await Promise.all([d.upper, d.work, d.merged].map((x) => makeDirs(x, 0o755)));
  },

  async mount(store, rec) {
    const d = dirs(store, rec);
    if (await isMountPoint(d.merged)) return d.merged;
    await Promise.all([d.upper, d.work, d.merged].map((x) => makeDirs(x, 0o755)));
    const low = await lowers(store, rec);
    // Lower dirs are given relative to the layers directory (the mount's cwd) to keep the option string
    // below the kernel's one-page limit for deep stacks.
    // sealable: redirected dirs and metadata-only copies would leave part of a change in the lowers.
    const opts = overlayOptions({ lower: low, upper: d.upper, work: d.work, userxattr: store.flavor === 'user', sealable: true });
    await runTool('mount', ['-t', 'overlay', 'overlay', '-o', opts, d.merged], {
      cwd: store.paths.layers,
      what: `mounting container ${rec.name}`,
      hint: 'set STORAGE_DRIVER=vfs to use the copying driver',
    });
    return d.merged;
  },

  async unmount(store, rec) {
    await unmount(dirs(store, rec).merged);
  },

  async changes(store, rec) {
    const low = (await lowers(store, rec)).map((l) => path.join(store.paths.layers, l));
    const { overlayChanges } = await import('../../layer/scan.js');
    return overlayChanges(dirs(store, rec).upper, low, store.flavor);
  },

  async dirty(store, rec) {
    const upper = dirs(store, rec).upper;
    // Anything but a directory in the upper dir is a change; directories alone may be copied-up parents.
    // Only a missing directory is empty: an unreadable one must fail the verb, not let commit skip a seal.
    const walk = async (dir: string): Promise<boolean | undefined> => {
      for (const e of await direntsOrEmpty(dir)) {
        if (!e.isDirectory()) return true;
        if ((await walk(path.join(dir, e.name))) === true) return true;
      }
      return undefined;
    };
    if (await walk(upper)) return true;
    if ((await direntsOrEmpty(upper)).length === 0) return false;
    return (await this.changes(store, rec)).length > 0;
  },

  async seal(store, rec, opts: SealOptions) {
    const d = dirs(store, rec);
    await unmount(d.merged);
    const [{ scanUpper, pruneCopiedUp }, { digestEntries }] = await Promise.all([import('../../layer/scan.js'), import('../../layer/tarwriter.js')]);
    // Directories copied up for nothing are no change (the copying driver sees none): the layer must not hold them.
    await pruneCopiedUp(d.upper, (await lowers(store, rec)).map((l) => path.join(store.paths.layers, l)), store.flavor);
    // The upper dir becomes the layer's tree, so no blob is written: the deterministic tar is only hashed here
    // and packed again whenever the layer's bytes are needed (push, export).
    const report = opts.progress ? (await import('../../core/progress.js')).progressOf(opts.progress) : undefined;
    const { digest: diffID, size } = await digestEntries(await scanUpper(d.upper, store.flavor), { timestamp: opts.timestamp, onBytes: report });
    report?.(size, true);
    return { diffID, digest: diffID, size, uncompressedSize: size, mediaType: MediaType.layerTar };
  },

  async afterSeal(store, rec, layer, opts) {
    const d = dirs(store, rec);
    await store.layers.recordPacked(layer.diffID, { dir: layer.diffID, size: layer.size, timestamp: opts.timestamp, markers: 'fixed' });
    if (await exists(d.upper)) await store.layers.adopt(layer.diffID, d.upper);
    await freshDir(d.upper);
    await freshDir(d.work);
  },

  async detachUpper(store, rec) {
    const d = dirs(store, rec);
    await unmount(d.merged);
    return d.upper;
  },

  async discard(store, rec) {
    const d = dirs(store, rec);
    await unmount(d.merged);
    await store.layers.discard(d.upper);
    await freshDir(d.upper);
    await freshDir(d.work);
  },

  async remove(store, rec) {
    const d = dirs(store, rec);
    await unmount(d.merged);
    await fsp.rm(store.paths.container(rec.id), { recursive: true, force: true });
  },
};
