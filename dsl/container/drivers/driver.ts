import type { ProgressTarget } from '../../core/progress.js';
import type { Change } from '../../layer/entry.js';
import type { WrittenLayer } from '../../store/write-layer.js';
import type { ContainerRecord, LayerRef } from '../../store/containers.js';
import type { Store } from '../../store/store.js';

/** Options for sealing pending changes into a layer. */
export interface SealOptions {
  timestamp?: number;
  /** Progress events of the layer being sealed (bytes of its tar). */
  progress?: ProgressTarget;
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
   * Turns pending changes into an uncompressed layer (a blob, or a tree the tar is packed from again when
   * needed) without yet changing the container: the caller journals the checkpoint, then calls afterSeal.
   */
  seal(store: Store, rec: ContainerRecord, opts: SealOptions): Promise<WrittenLayer>;
  /**
   * Makes the container's tree start afresh on top of a sealed layer. Idempotent, so that a journaled seal
   * interrupted at any point can be finished later with the same call.
   */
  afterSeal(store: Store, rec: ContainerRecord, layer: WrittenLayer, opts: SealOptions): Promise<void>;
  /** Drops pending changes (and rebuilds the tree for rec's layer stack). */
  discard(store: Store, rec: ContainerRecord): Promise<void>;
  /** Removes every file of the container's tree. */
  remove(store: Store, rec: ContainerRecord): Promise<void>;
  /**
   * Ends the tree's visibility and returns the directory pending changes are kept in, so that a directory
   * new to the tree can be filled there directly, as the mount would have filled it (overlayfs: its upper
   * dir; writing there while mounted is not allowed). Absent where the tree is itself that directory.
   */
  detachUpper?(store: Store, rec: ContainerRecord): Promise<string>;
}

/** The layers a container stands on: base layers then checkpoints, base first. */
export function layerStack(rec: ContainerRecord): LayerRef[] {
  return [...rec.baseLayers, ...rec.checkpoints];
}
