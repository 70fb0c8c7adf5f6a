import { BadInputError } from '../core/errors.js';
import { JSON_LIMIT } from '../core/regular-file.js';
import { compressionOfMediaType } from '../layer/compress.js';
import { MediaType } from '../oci/types.js';
import { checkConfig, parseJson } from '../oci/validate.js';
import type { SourceImage, SourceLayer } from '../transport/source.js';
import type { RegistryOptions } from '../transport/transports.js';
import { openBlob, readBlob } from './blob.js';
import { RegistryClient } from './client.js';
import { resolveManifest } from './manifest.js';
import { hostPlatform, parsePlatform } from './platform.js';
import { formatRegistryRef, manifestReference, parseRegistryRef, storeName, type RegistryRef } from './reference.js';

/** Config media types a pulled image may have (OCI's and Docker's, the same JSON). */
const CONFIG_TYPES = new Set<string>([MediaType.config, MediaType.dockerConfig]);

/** A SourceImage read from a registry, with what the registry told of it. */
export interface RegistrySourceImage extends SourceImage {
  /** The reference, normalized (`docker.io/library/debian:bookworm`). */
  ref: RegistryRef;
  /** The digest of the image's manifest, as pulled. */
  digest: string;
  /** The digest of the index it was chosen from, if the reference named one. */
  indexDigest?: string;
}

/**
 * Opens `docker://TEXT` for reading: the manifest (chosen from an index for the platform asked, else this
 * machine's) and the config are fetched and checked now; each layer is fetched only when opened, so layers
 * the store already has are never fetched. close() ends the connections.
 */
export async function openRegistrySource(text: string, opts: RegistryOptions = {}): Promise<RegistrySourceImage> {
  const ref = parseRegistryRef(text);
  const platform = opts.platform !== undefined ? parsePlatform(opts.platform) : hostPlatform();
  const what = `image docker://${formatRegistryRef(ref)}`;
  const client = await RegistryClient.open(ref, opts);
  try {
    const m = await resolveManifest(client, manifestReference(ref), platform, what);
    const { manifest } = m;
    if (!CONFIG_TYPES.has(manifest.config.mediaType)) {
      throw new BadInputError(`${what} is not a container image: its config has media type ${manifest.config.mediaType}`, { hint: 'cairn pulls OCI and Docker schema 2 images, not other artifacts' });
    }
    for (const l of manifest.layers) {
      if (compressionOfMediaType(l.mediaType) === undefined) throw new BadInputError(`${what} has a layer of unsupported media type ${l.mediaType}`, { hint: 'cairn reads tar layers, plain, gzip or zstd' });
    }
    const configBytes = await readBlob(client, manifest.config, `the config of ${what}`, JSON_LIMIT);
    const config = checkConfig(parseJson(configBytes, `config ${manifest.config.digest}`), `the config of ${what}`, manifest.layers.length);
    const layers: SourceLayer[] = manifest.layers.map((d, i) => ({
      descriptor: d,
      diffID: config.rootfs.diff_ids[i],
      open: async () => openBlob(client, d, `layer of ${what}`),
    }));
    return {
      manifest,
      configBytes,
      config,
      layers,
      // Named by tag only: a digest-pinned reference names no tag (as the store names what it pulls).
      names: ref.tag && !ref.digest ? [storeName(ref)] : [],
      ref,
      digest: m.digest,
      original: { bytes: m.bytes, mediaType: manifest.mediaType ?? MediaType.manifest },
      ...(m.indexDigest ? { indexDigest: m.indexDigest } : {}),
      close: () => client.close(),
    };
  } catch (err) {
    await client.close();
    throw err;
  }
}
