import type { Change } from '../layer/entry.js';
import type { WrittenLayer } from '../layer/writelayer.js';
import type { Compression } from '../layer/compress.js';
import type { ContainerRecord, LayerRef } from '../store/containers.js';
import type { Store } from '../store/store.js';

/** Options for sealing pending changes into a layer. */
export interface SealOptions {
  compression: Compression;
  timestamp?: number;
}

/** How a working container's root filesystem is kept: overlayfs or a plain copy. */
export interface Driver {
  /** Prepares a new container's tree over its base layers. */
  init(store: Store, rec: ContainerRecord): Promise<void>;
  /** Makes the tree visible and returns its path. */
  mount(store: Store, rec: ContainerRecord): Promise<string>;
  /** Ends the visibility of the tree (a no-op for copies). */
  unmount(store: Store, rec: ContainerRecord): Promise<void>;
  /** Pending changes since the last checkpoint. */
  changes(store: Store, rec: ContainerRecord): Promise<Change[]>;
  /** True when anything is pending in the tree. */
  dirty(store: Store, rec: ContainerRecord): Promise<boolean>;
  /**
   * Writes pending changes as a layer blob. The caller records the checkpoint, then calls finish() to make
   * the tree start afresh on top of it: killed between the two, the changes are still there, never lost.
   */
  seal(store: Store, rec: ContainerRecord, opts: SealOptions): Promise<{ layer: WrittenLayer; finish(): Promise<void> }>;
  /** Drops pending changes (and rebuilds the tree for rec's layer stack). */
  discard(store: Store, rec: ContainerRecord): Promise<void>;
  /** Removes every file of the container's tree. */
  remove(store: Store, rec: ContainerRecord): Promise<void>;
}

/** The layers a container stands on: base layers then checkpoints, base first. */
export function layerStack(rec: ContainerRecord): LayerRef[] {
  return [...rec.baseLayers, ...rec.checkpoints];
}
