import { BadInputError } from '../errors.js';
import type { Change } from '../layer/entry.js';
import type { Compression } from '../layer/compress.js';
import type { CheckpointRecord, ContainerRecord } from '../store/containers.js';
import type { Store } from '../store/store.js';
import { buildTimestamp, isoDate } from '../timestamp.js';
import type { Driver } from './driver.js';

/** Options for sealing a checkpoint. */
export interface CheckpointOptions {
  message?: string;
  timestamp?: number;
  compression?: Compression;
}

/** The created_by text of the verbs applied since the last checkpoint. */
export function pendingCreatedBy(rec: ContainerRecord): string {
  return rec.pending.length ? rec.pending.join(' && ') : 'cairn checkpoint';
}

/**
 * Seals pending changes into a new layer on top of rec (the caller holds the container lock), saves the
 * record and returns the checkpoint. With nothing pending, an empty layer is still sealed so that the
 * user's explicit layer boundary is kept.
 */
export async function sealCheckpoint(store: Store, rec: ContainerRecord, driver: Driver, opts: CheckpointOptions = {}): Promise<CheckpointRecord> {
  const ts = buildTimestamp(opts.timestamp);
  const { layer, finish } = await driver.seal(store, rec, { compression: opts.compression ?? 'gzip', timestamp: ts });
  const cp: CheckpointRecord = {
    diffID: layer.diffID,
    digest: layer.digest,
    size: layer.size,
    mediaType: layer.mediaType,
    message: opts.message ?? '',
    createdBy: pendingCreatedBy(rec),
    created: isoDate(ts),
    ...(ts !== undefined ? { timestamp: ts } : {}),
  };
  rec.checkpoints.push(cp);
  rec.pending = [];
  await store.containers.save(rec);
  await finish();
  if (rec.mounted) await driver.mount(store, rec);
  return cp;
}

/** Throws away pending changes, or with `to` also every checkpoint after the to-th (1-based; 0 = back to the base image). */
export async function rollback(store: Store, rec: ContainerRecord, driver: Driver, to?: number): Promise<void> {
  if (to !== undefined) {
    if (!Number.isInteger(to) || to < 0 || to > rec.checkpoints.length) {
      throw new BadInputError(`no checkpoint ${to}: the container has ${rec.checkpoints.length}`, { hint: 'see `cairn inspect` for its checkpoints; 0 goes back to the base image' });
    }
    rec.checkpoints = rec.checkpoints.slice(0, to);
  }
  await driver.discard(store, rec);
  rec.pending = [];
  await store.containers.save(rec);
  if (rec.mounted) await driver.mount(store, rec);
}

/** The pending changes of a container. */
export async function pendingChanges(store: Store, rec: ContainerRecord, driver: Driver): Promise<Change[]> {
  return driver.changes(store, rec);
}
