import { BadInputError } from '../core/errors.js';
import type { ImageRecord } from '../store/images.js';
import type { Store } from '../store/store.js';
import type { LayerRef } from '../store/containers.js';
import type { SourceImage } from '../transport/source.js';
import type { ImageConfig, Manifest } from '../oci/types.js';
import type { Compression } from '../layer/compress.js';

/** Reads a stored image's manifest and config. */
export async function loadImage(store: Store, rec: ImageRecord): Promise<{ manifest: Manifest; config: ImageConfig; configBytes: Buffer }> {
  const manifest = JSON.parse((await store.blobs.read(rec.manifest)).toString()) as Manifest;
  const configBytes = await store.blobs.read(manifest.config.digest);
  return { manifest, configBytes, config: JSON.parse(configBytes.toString()) as ImageConfig };
}

/** The layers of a stored image as layer references (blob + diffID). */
export function layerRefs(manifest: Manifest, config: ImageConfig): LayerRef[] {
  const ids = config.rootfs?.diff_ids ?? [];
  if (ids.length !== manifest.layers.length) {
    throw new BadInputError(`image has ${manifest.layers.length} layers but ${ids.length} diff IDs`, { hint: 'the image is corrupt' });
  }
  return manifest.layers.map((d, i) => ({ diffID: ids[i], digest: d.digest, size: d.size, mediaType: d.mediaType }));
}

/**
 * A stored image as a SourceImage, for writing it to any transport; with compression, layers stored in
 * another one are compressed first (once: the compressed blob is kept for the next push).
 */
export async function storeSource(store: Store, rec: ImageRecord, compression?: Compression): Promise<SourceImage> {
  const loaded = await loadImage(store, rec);
  let refs = layerRefs(loaded.manifest, loaded.config);
  if (compression) refs = await Promise.all(refs.map((l) => store.layers.compressed(l, compression)));
  const manifest: Manifest = { ...loaded.manifest, layers: refs.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })) };
  return {
    manifest,
    config: loaded.config,
    configBytes: loaded.configBytes,
    names: rec.names,
    layers: refs.map((l, i) => ({ descriptor: manifest.layers[i], diffID: l.diffID, open: () => store.layers.openBlob(l) })),
    close: async () => undefined,
  };
}
