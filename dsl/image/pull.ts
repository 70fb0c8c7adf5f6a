import { emit } from '../core/events.js';
import { shortDigest, withProgress } from '../core/progress.js';
import { BadInputError } from '../core/errors.js';
import { createdOf, type ImageRecord } from '../store/images.js';
import type { Store } from '../store/store.js';
import type { SourceImage } from '../transport/source.js';
import { imageId } from '../store/hash.js';
import { MediaType, type Manifest } from '../oci/types.js';
import { crashPoint } from '../core/crash.js';

/** Options for storing an image. */
export interface StoreImageOptions {
  names?: string[];
  /** Extract the layers for overlay containers now, so that `from` costs nothing later. */
  extract?: boolean;
  stepId?: string;
}

/** Copies a source image into the store (every blob verified), records it, and returns the record. */
export async function storeImage(store: Store, img: SourceImage, opts: StoreImageOptions = {}): Promise<ImageRecord> {
  const ids = img.config.rootfs?.diff_ids ?? [];
  if (ids.length !== img.layers.length) {
    throw new BadInputError(`image has ${img.layers.length} layers but its config lists ${ids.length} diff IDs`, { hint: 'the image is corrupt' });
  }
  let done = 0;
  for (const l of img.layers) {
    const d = l.descriptor;
    if (!(await store.blobs.has(d.digest))) {
      const src = await l.open();
      await store.blobs.put(opts.stepId ? withProgress(src, { id: opts.stepId, item: shortDigest(d.digest), total: d.size }) : src, d.digest, d.size);
    }
    if (opts.extract) await store.layers.ensure({ diffID: l.diffID, digest: d.digest, size: d.size, mediaType: d.mediaType });
    if (opts.stepId) emit({ type: 'progress', id: opts.stepId, done: ++done, total: img.layers.length, unit: 'layers' });
    crashPoint('from.import.after-layer');
  }
  const config = await store.blobs.put(img.configBytes, img.manifest.config.digest);
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: MediaType.manifest,
    config: { mediaType: MediaType.config, digest: config.digest, size: config.size },
    layers: img.layers.map((l) => ({ mediaType: ociLayerType(l.descriptor.mediaType), digest: l.descriptor.digest, size: l.descriptor.size })),
  };
  if (img.manifest.annotations) manifest.annotations = img.manifest.annotations;
  const m = await store.blobs.putJson(manifest);
  crashPoint('from.import.before-record');
  return store.locked([{ name: 'images' }], () =>
    store.images.add({ id: imageId(img.configBytes), names: opts.names ?? [], manifest: m.digest, created: new Date().toISOString(), ...createdOf(img.config.created) }),
  );
}

/** The OCI media type for a layer media type (docker's names mapped to OCI's). */
export function ociLayerType(mt: string): string {
  if (mt === MediaType.dockerLayerGzip) return MediaType.layerGzip;
  if (mt === MediaType.dockerLayerTar) return MediaType.layerTar;
  return mt;
}

