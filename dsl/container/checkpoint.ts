import type { ProgressTarget } from '../core/progress.js';
import { BadInputError } from '../core/errors.js';
import type { Change } from '../layer/entry.js';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { WrittenLayer } from '../store/write-layer.js';
import { readJson, writeJsonAtomic } from '../core/atomic.js';
import type { CheckpointRecord, ContainerRecord } from '../store/containers.js';
import type { Store } from '../store/store.js';
import { buildTimestamp, isoDate } from '../core/timestamp.js';
import type { Driver } from './drivers/driver.js';
import { crashPoint } from '../core/crash.js';

/** Options for sealing a checkpoint. */
export interface CheckpointOptions {
  message?: string;
  timestamp?: number;
  /** Progress events of the layer being sealed. */
  progress?: ProgressTarget;
}

/** The created_by text of the verbs applied since the last checkpoint. */
export function pendingCreatedBy(rec: ContainerRecord): string {
  if (rec.historyPerStep && rec.pending.length) return rec.pending[rec.pending.length - 1];
  return rec.pending.length ? rec.pending.join(' && ') : 'cairn checkpoint';
}

/** With historyPerStep: the pending lines before the last, which get history entries of their own, with no layer. */
export function pendingSteps(rec: ContainerRecord): string[] {
  return rec.historyPerStep ? rec.pending.slice(0, -1) : [];
}

/** The journal of a seal in progress: the checkpoint about to be recorded and the layer it seals. */
interface SealJournal {
  checkpoint: CheckpointRecord;
  layer: WrittenLayer;
  /** How many checkpoints the container had before this one: it is recorded once the record has more. */
  at?: number;
}

function journalFile(store: Store, rec: ContainerRecord): string {
  return path.join(store.paths.container(rec.id), 'seal.json');
}

/** Finishes a journaled seal: tree afresh on the layer, checkpoint recorded, journal gone. Idempotent. */
async function completeSeal(store: Store, rec: ContainerRecord, driver: Driver, j: SealJournal): Promise<void> {
  await driver.afterSeal(store, rec, j.layer, { timestamp: j.checkpoint.timestamp });
  crashPoint('checkpoint.journal.before-save');
  // Recorded already (killed after the save)? An empty checkpoint after an empty one has the same diffID, so count.
  if (j.at !== undefined ? rec.checkpoints.length <= j.at : rec.checkpoints.at(-1)?.diffID !== j.checkpoint.diffID || rec.pending.length) {
    rec.checkpoints.push(j.checkpoint);
    rec.pending = [];
    await store.containers.save(rec);
  }
  crashPoint('checkpoint.journal.before-remove');
  await fsp.rm(journalFile(store, rec), { force: true });
}

/** True when a seal of rec was interrupted and is still to be finished. */
export async function hasSealJournal(store: Store, rec: ContainerRecord): Promise<boolean> {
  return fsp.access(journalFile(store, rec)).then(() => true, () => false);
}

/** Finishes a seal that a killed verb left half-done (called before any verb touches the container). */
export async function recoverSeal(store: Store, rec: ContainerRecord, driver: Driver): Promise<void> {
  const j = await readJson<SealJournal>(journalFile(store, rec));
  if (j) await completeSeal(store, rec, driver, j);
}

/**
 * Seals pending changes into a new layer on top of rec (the caller holds the container lock), saves the
 * record and returns the checkpoint (Container.checkpoint seals nothing when nothing is pending; commit seals what
 * there is). Killed at any point, the container keeps its changes: before the
 * journal is written they are still pending, after it recoverSeal finishes the job.
 */
export async function sealCheckpoint(store: Store, rec: ContainerRecord, driver: Driver, opts: CheckpointOptions = {}): Promise<CheckpointRecord> {
  const ts = buildTimestamp(opts.timestamp);
  crashPoint('checkpoint.seal.before');
  const layer = await driver.seal(store, rec, { timestamp: ts, progress: opts.progress });
  crashPoint('checkpoint.seal.after-layer');
  const checkpoint: CheckpointRecord = {
    diffID: layer.diffID,
    digest: layer.digest,
    size: layer.size,
    mediaType: layer.mediaType,
    message: opts.message ?? '',
    createdBy: pendingCreatedBy(rec),
    ...(pendingSteps(rec).length ? { steps: pendingSteps(rec) } : {}),
    created: isoDate(ts),
    ...(ts !== undefined ? { timestamp: ts } : {}),
  };
  const journal: SealJournal = { checkpoint, layer, at: rec.checkpoints.length };
  await writeJsonAtomic(journalFile(store, rec), journal);
  crashPoint('checkpoint.journal.written');
  await completeSeal(store, rec, driver, journal);
  if (rec.mounted) await driver.mount(store, rec);
  return checkpoint;
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
