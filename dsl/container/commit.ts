import { scanTree, scanUpper } from '../layer/scan.js';
import { digestEntries, packEntries } from '../layer/tarwriter.js';
import { writeLayer, type WrittenLayer } from '../store/write-layer.js';
import { normalizeName } from '../oci/reference.js';
import { MediaType, type History, type ImageConfig, type Manifest } from '../oci/types.js';
import { imageId } from '../store/hash.js';
import { createdOf, type ImageRecord } from '../store/images.js';
import type { CheckpointRecord, ContainerRecord, LayerRef } from '../store/containers.js';
import type { Store } from '../store/store.js';
import { buildTimestamp, isoDate } from '../core/timestamp.js';
import type { ProgressTarget } from '../core/progress.js';
import { pendingCreatedBy, sealCheckpoint } from './checkpoint.js';
import type { Driver } from './drivers/driver.js';
import { crashPoint } from '../core/crash.js';
import { checkpointHistory, containerImageConfig } from './image-config.js';
import { formatConfig, formatManifest, type ImageFormat } from '../image/format.js';

/** Options of commit. */
export interface CommitOptions {
  /** Names (tags) for the new image. */
  names?: string[];
  /** One layer holding the whole tree, base included. */
  squash?: boolean;
  /** Clamp times to this epoch (else $SOURCE_DATE_EPOCH) for a reproducible image. */
  timestamp?: number;
  /** Progress events of a layer sealed on the way. */
  progress?: ProgressTarget;
  /** The image's form: oci (the default) or docker (Docker schema 2, as buildah's --format docker). */
  format?: ImageFormat;
}

function toRef(l: WrittenLayer): LayerRef {
  return { diffID: l.diffID, digest: l.digest, size: l.size, mediaType: l.mediaType };
}

/**
 * A checkpoint's layer with its times clamped to ts, unless it was sealed that way: the same tree packed
 * again (it is in overlayfs form, like the upper dir it was sealed from), recorded as a packed layer.
 */
async function reproducible(store: Store, cp: CheckpointRecord, ts: number | undefined): Promise<LayerRef> {
  if (ts === undefined || cp.timestamp === ts) return cp;
  const dir = await store.layers.ensure(cp);
  const { digest: diffID, size } = await digestEntries(await scanUpper(dir, store.flavor), { timestamp: ts });
  await store.layers.recordPacked(diffID, { dir: cp.diffID, size, timestamp: ts, markers: 'fixed' });
  return { diffID, digest: diffID, size, mediaType: MediaType.layerTar };
}

/** Writes config and manifest of an image (in format, default OCI) to the store and records it under names. */
export async function recordImage(store: Store, config: ImageConfig, layers: LayerRef[], names: string[], annotations?: Record<string, string>, format: ImageFormat = 'oci'): Promise<ImageRecord> {
  const cfg = await store.blobs.putJson(formatConfig(config, format));
  const manifest: Manifest = formatManifest(format, cfg, layers, annotations);
  const m = await store.blobs.putJson(manifest);
  crashPoint('commit.blobs.before-record');
  return store.locked([{ name: 'images' }], () =>
    store.images.add({ id: imageId(cfg.bytes), names, manifest: m.digest, created: new Date().toISOString(), ...createdOf(config.created) }),
  );
}

/**
 * Writes an image from the container: base layers, checkpoints, and pending changes (sealed first as a
 * checkpoint), or one squashed layer. The caller holds the container lock.
 */
export async function commitContainer(store: Store, rec: ContainerRecord, driver: Driver, opts: CommitOptions = {}): Promise<ImageRecord> {
  const ts = buildTimestamp(opts.timestamp);
  const created = isoDate(ts);
  const dirty = await driver.dirty(store, rec);
  const configChange = rec.pending.length > 0 && !dirty ? (rec.historyPerStep ? [...rec.pending] : [pendingCreatedBy(rec)]) : undefined;
  if (dirty) await sealCheckpoint(store, rec, driver, { message: '', timestamp: ts, progress: opts.progress });
  let layers: LayerRef[];
  let history: History[];
  if (opts.squash) {
    const root = await driver.mount(store, rec);
    layers = [toRef(await writeLayer(packEntries(await scanTree(root), { timestamp: ts }), store.blobs, 'none'))];
    if (!rec.mounted) await driver.unmount(store, rec);
    history = [{ created, created_by: `cairn commit --squash (from ${rec.from})` }];
  } else {
    layers = [...rec.baseLayers];
    for (const cp of rec.checkpoints) layers.push(await reproducible(store, cp, ts));
    history = [...rec.baseHistory, ...checkpointHistory(rec, ts === undefined ? undefined : created)];
  }
  crashPoint('commit.layers.written');
  for (const line of configChange ?? []) history.push({ created, created_by: line, empty_layer: true });
  const config = containerImageConfig(rec, created, layers.map((l) => l.diffID), history);
  if (configChange) {
    rec.pending = [];
    await store.containers.save(rec);
  }
  return recordImage(store, config, layers, (opts.names ?? []).map((n) => normalizeName(n)), rec.annotations, opts.format);
}
