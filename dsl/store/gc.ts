import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Manifest } from '../image/types.js';
import { readJson } from './atomic.js';
import { mountPoints, unmount } from '../sandbox/mounts.js';
import type { Store } from './store.js';

/** What a garbage collection removed. */
export interface GcResult {
  blobs: number;
  layers: number;
  bytes: number;
}

/**
 * Removes blobs and extracted layers that no image or container references, and temporary files left
 * by killed verbs. Holds the store lock exclusively, so no verb is half-way through.
 */
export async function gc(store: Store): Promise<GcResult> {
  return store.exclusive(async () => {
    const blobs = new Set<string>();
    const layers = new Set<string>();
    for (const img of await store.images.list()) {
      blobs.add(img.manifest);
      try {
        const m = JSON.parse((await store.blobs.read(img.manifest)).toString()) as Manifest;
        blobs.add(m.config.digest);
        for (const l of m.layers) blobs.add(l.digest);
        const cfg = JSON.parse((await store.blobs.read(m.config.digest)).toString());
        for (const d of cfg.rootfs?.diff_ids ?? []) layers.add(d);
      } catch {
        /* a broken image keeps what it can name */
      }
    }
    for (const c of await store.containers.list()) {
      for (const l of [...c.baseLayers, ...c.checkpoints]) {
        blobs.add(l.digest);
        layers.add(l.diffID);
      }
    }
    // A packed layer needs the tree it is packed from; compressed copies made for pushes are kept with it.
    for (const d of [...layers]) {
      const p = await store.layers.packed(d);
      if (p) layers.add(p.dir);
      for (const comp of ['gzip', 'zstd']) {
        const c = await readJson<{ digest: string }>(path.join(store.paths.layers, `${d.slice(7)}.${comp}.json`));
        if (c) blobs.add(c.digest);
      }
    }
    const out: GcResult = { blobs: 0, layers: 0, bytes: 0 };
    for (const b of await store.blobs.list()) {
      if (blobs.has(b)) continue;
      out.bytes += (await fsp.stat(store.blobs.path(b)).catch(() => ({ size: 0 }))).size;
      await store.blobs.remove(b);
      out.blobs++;
    }
    for (const l of new Set([...(await store.layers.list()), ...(await store.layers.listPacked())])) {
      if (layers.has(l)) continue;
      await store.layers.remove(l);
      out.layers++;
    }
    // Temporary files of verbs killed long ago. Recent ones may belong to a verb running now: run, diff and config
    // do not take the store lock, so they are left alone for an hour.
    const stale = Date.now() - 3600_000;
    const sweep = async (dir: string, match: (n: string) => boolean, always: (n: string) => boolean) => {
      for (const n of await fsp.readdir(dir).catch(() => [] as string[])) {
        if (!match(n)) continue;
        const p = path.join(dir, n);
        const st = await fsp.lstat(p).catch(() => undefined);
        if (st && (always(n) || st.mtimeMs < stale)) await fsp.rm(p, { recursive: true, force: true });
      }
    };
    // A killed export can leave a read-only overlay mounted under tmp: unmount before removing.
    for (const m of mountPoints()) if (m.startsWith(store.paths.tmp + '/')) await unmount(m).catch(() => undefined);
    await sweep(store.paths.tmp, () => true, () => false);
    await sweep(store.paths.layers, (n) => n.startsWith('.tmp-') || n.startsWith('.trash-'), (n) => n.startsWith('.trash-'));
    return out;
  });
}
