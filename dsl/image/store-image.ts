import { BadInputError } from '../core/errors.js';
import { createdOf, type ImageRecord } from '../store/images.js';
import type { Store } from '../store/store.js';
import type { LayerRef } from '../store/containers.js';
import type { SourceImage } from '../transport/source.js';
import { MediaType, type ImageConfig, type Manifest } from '../oci/types.js';
import { formatConfig, formatManifest, formatOf, type ImageFormat } from './format.js';
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
  let manifest: Manifest = { ...loaded.manifest, layers: refs.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })) };
  let original: SourceImage['original'];
  if (formatOf(loaded.manifest) === 'docker') {
    // A Docker schema 2 image keeps its form where a destination can hold it (a registry): the manifest sent as is.
    manifest = formatManifest('docker', manifest.config, manifest.layers);
    original = { bytes: Buffer.from(JSON.stringify(manifest)), mediaType: MediaType.dockerManifest };
  }
  return {
    manifest,
    ...(original ? { original } : {}),
    config: loaded.config,
    configBytes: loaded.configBytes,
    names: rec.names,
    layers: refs.map((l, i) => ({ descriptor: manifest.layers[i], diffID: l.diffID, open: () => store.layers.openBlob(l) })),
    close: async () => undefined,
  };
}

/**
 * The stored image rec in format, recorded under names: itself when it is in that form already (the names added),
 * else a new image with the same layers whose config is written for that form.
 */
export async function reformatImage(store: Store, rec: ImageRecord, format: ImageFormat, names: string[]): Promise<ImageRecord> {
  const { manifest, config } = await loadImage(store, rec);
  let id = rec.id;
  let digest = rec.manifest;
  if (formatOf(manifest) !== format) {
    // Only OCI to Docker: a Docker config in OCI form would keep the Docker image's ID (its config unchanged).
    if (format === 'oci') throw new BadInputError(`image ${rec.id.slice(0, 12)} is in Docker form`, { hint: 'commit the container again with --format oci' });
    const cfg = await store.blobs.putJson(formatConfig(config, format));
    digest = (await store.blobs.putJson(formatManifest(format, cfg, manifest.layers))).digest;
    // Loaded here: the engine loads this module on `from`'s path, which must not load node:crypto.
    id = (await import('../store/hash.js')).imageId(cfg.bytes);
  }
  return store.locked([{ name: 'images' }], () => store.images.add({ id, names, manifest: digest, created: new Date().toISOString(), ...createdOf(config.created) }));
}
