import { promises as fsp } from 'node:fs';
import { lstatOrUndefined } from '../core/fsutil.js';
import path from 'node:path';
import { crashPoint } from '../core/crash.js';
import { readDirOrEmpty } from '../core/atomic.js';
import { collectExecCache } from './exec-gc.js';
import { deadLockFiles, findLeftovers, removeLockFile } from './leftovers.js';
import { storeReferences } from './refs.js';
import type { Store } from './store.js';

/** What a garbage collection removed. */
export interface GcResult {
  blobs: number;
  layers: number;
  bytes: number;
  /** Leftovers of interrupted verbs: temporary files, unfinished containers, dead names, stale mounts. */
  leftovers: number;
  /** Exec cache entries no running service used. */
  execEntries: number;
}

/**
 * Removes blobs and extracted layers that no image or container references, what interrupted verbs left
 * (temporary files, run steps' scratch, containers a killed `from` never published, dead names) and the exec
 * cache entries no running service uses. Holds the store lock exclusively, so no verb is half-way through.
 * Fails closed: when any record, manifest or config cannot be read, it stops before removing anything.
 */
export async function gc(store: Store): Promise<GcResult> {
  return store.exclusive(async () => {
    const refs = await storeReferences(store);
    const out: GcResult = { blobs: 0, layers: 0, bytes: 0, leftovers: 0, execEntries: 0 };
    for (const p of await findLeftovers(store)) {
      if (!p.fix) continue;
      await p.fix();
      out.leftovers++;
    }
    for (const b of await store.blobs.list()) {
      if (refs.blobs.has(b)) continue;
      out.bytes += (await lstatOrUndefined(store.blobs.path(b)))?.size ?? 0;
      await store.blobs.remove(b);
      out.blobs++;
      crashPoint('store.gc.after-first-blob');
    }
    for (const l of new Set([...(await store.layers.list()), ...(await store.layers.listPacked())])) {
      if (refs.layers.has(l)) continue;
      await store.layers.remove(l);
      out.layers++;
    }
    // Trees renamed aside for a detached `rm -rf` that may have been killed too.
    for (const n of await readDirOrEmpty(store.paths.layers)) {
      if (n.startsWith('.trash-')) await fsp.rm(path.join(store.paths.layers, n), { recursive: true, force: true });
    }
    for (const name of await deadLockFiles(store)) await removeLockFile(store, name);
    out.execEntries = await collectExecCache(store);
    return out;
  });
}
