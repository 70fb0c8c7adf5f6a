import { promises as fsp } from 'node:fs';
import { CairnError } from '../core/errors.js';
import { BlobStore } from './blobs.js';
import { ContainerRecords } from './containers.js';
import { ImageRecords } from './images.js';
import { acquire, withLocks, type LockSpec } from './lock.js';
import { defaultRoot, StorePaths } from './paths.js';
import { LayerStore } from './layers.js';
import { inInitUserNs } from '../core/userns.js';
import type { XattrFlavor } from '../layer/entry.js';
import { makeDirs } from '../core/fsutil.js';

/** A cairn store: blobs, extracted layers, image and container records, locks. */
export class Store {
  readonly paths: StorePaths;
  readonly blobs: BlobStore;
  readonly images: ImageRecords;
  readonly containers: ContainerRecords;
  readonly layers: LayerStore;
  /** The overlayfs xattr namespace this store's layers use. */
  readonly flavor: XattrFlavor;

  constructor(root: string) {
    this.paths = new StorePaths(root);
    this.blobs = new BlobStore(this.paths);
    this.images = new ImageRecords(this.paths);
    this.containers = new ContainerRecords(this.paths);
    this.flavor = inInitUserNs() ? 'trusted' : 'user';
    this.layers = new LayerStore(this.paths, this.blobs, this.flavor);
  }

  /** Runs fn holding the given locks plus a shared lock on the whole store (gc takes it exclusively). */
  locked<T>(specs: LockSpec[], fn: () => Promise<T>): Promise<T> {
    return withLocks(this.paths.locks, [{ name: 'store', shared: true }, ...specs], fn);
  }

  /** Takes the store lock exclusively (for gc). */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return withLocks(this.paths.locks, [{ name: 'store' }], fn);
  }

  /** Acquires locks without a callback (for long-held ones). */
  acquire(specs: LockSpec[]) {
    return acquire(this.paths.locks, specs);
  }
}

const opened = new Map<string, Store>();

/** Opens (creating when needed) the store at root, or the default root. */
export async function openStore(root?: string): Promise<Store> {
  const r = root ?? defaultRoot();
  let s = opened.get(r);
  if (!s) {
    await makeDirs(r, 0o700);
    const st = await fsp.stat(r);
    const owner = st.uid;
    // Another user who can write into the store could swap its records or blobs under a verb.
    if (owner === process.getuid?.() && st.mode & 0o022) {
      throw new CairnError(`the store ${r} is writable by other users (mode ${(st.mode & 0o7777).toString(8)})`, { hint: `make it yours alone: chmod go-w ${r}` });
    }
    if (owner !== process.getuid?.()) {
      const who = process.env.CAIRN_ROOTLESS_UID ? `uid ${process.env.CAIRN_ROOTLESS_UID}` : `uid ${process.getuid?.()}`;
      throw new CairnError(`the store ${r} belongs to another user, not to ${who}`, {
        hint: 'use your own store (the default, or --root DIR / CAIRN_ROOT with a directory you own)',
      });
    }
    s = new Store(r);
    opened.set(r, s);
  }
  return s;
}
