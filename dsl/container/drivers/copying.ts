import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { isPrivileged } from '../../core/userns.js';
import type { ContainerRecord } from '../../store/containers.js';
import type { Store } from '../../store/store.js';
import { layerStack, type Driver } from './driver.js';
import { makeDirs } from '../../core/fsutil.js';

/** The layer modules this driver needs, loaded on first use (they are heavy for a CLI's start-up). */
async function lib() {
  const [extract, scan, tarwriter, writelayer] = await Promise.all([
    import('../../layer/extract.js'), import('../../layer/scan.js'), import('../../layer/tarwriter.js'), import('../../store/write-layer.js'),
  ]);
  return { ...extract, ...scan, ...tarwriter, ...writelayer };
}

function dirs(store: Store, rec: ContainerRecord) {
  const base = store.paths.container(rec.id);
  return { rootfs: path.join(base, 'rootfs'), snapshot: path.join(base, 'snapshot.json'), next: path.join(base, 'snapshot.next.json') };
}

/** Rebuilds the container's tree from its layer stack and records a snapshot of it. */
async function rebuild(store: Store, rec: ContainerRecord): Promise<void> {
  const d = dirs(store, rec);
  const { extractLayer, saveSnapshot, snapshotTree } = await lib();
  await fsp.rm(d.rootfs, { recursive: true, force: true });
  await makeDirs(d.rootfs, 0o755);
  for (const l of layerStack(rec)) {
    await extractLayer(await store.layers.openTar(l), d.rootfs, { whiteouts: 'apply', devices: isPrivileged() });
  }
  await saveSnapshot(d.snapshot, await snapshotTree(d.rootfs));
}

/** The copying driver: a full tree per container, changes found by comparing it with a snapshot. */
export const copyDriver: Driver = {
  init: rebuild,

  async mount(store, rec) {
    return dirs(store, rec).rootfs;
  },

  async unmount() {},

  async changes(store, rec) {
    const d = dirs(store, rec);
    const { scanTreeDiff, loadSnapshot } = await lib();
    return (await scanTreeDiff(d.rootfs, await loadSnapshot(d.snapshot))).changes;
  },

  async dirty(store, rec) {
    return (await this.changes(store, rec)).length > 0;
  },

  async seal(store, rec, opts) {
    const d = dirs(store, rec);
    const { scanTreeDiff, loadSnapshot, packEntries, writeLayer, snapshotTree, saveSnapshot } = await lib();
    const { entries } = await scanTreeDiff(d.rootfs, await loadSnapshot(d.snapshot));
    const tar = packEntries(entries, { timestamp: opts.timestamp });
    const layer = await writeLayer(opts.progress ? (await import('../../core/progress.js')).withProgress(tar, opts.progress) : tar, store.blobs, 'none');
    await saveSnapshot(d.next, await snapshotTree(d.rootfs));
    return layer;
  },

  async afterSeal(store, rec) {
    const d = dirs(store, rec);
    await fsp.rename(d.next, d.snapshot).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
  },

  discard: rebuild,

  async remove(store, rec) {
    await fsp.rm(store.paths.container(rec.id), { recursive: true, force: true });
  },
};
