import { BadInputError } from '../core/errors.js';
import { MediaType, type Descriptor, type ImageConfig, type Manifest } from '../oci/types.js';

/*
 * The two forms an image is written in, as buildah's `--format`: OCI (the default) and Docker schema 2 (docker's
 * manifest, config and layer media types). A Docker image's config also holds `container_config` (docker's record
 * of the config the committing container ran with: cairn writes the image's own run config there, as buildah
 * does), so its bytes, and its ID, are never those of the same image in OCI form: one store record per ID keeps
 * one manifest. The Docker-only run config fields (Healthcheck, Shell, OnBuild) are in both forms.
 */

/** Docker schema 2's media type for each OCI one it has (and for its own): zstd layers and indexes have none. */
const TO_DOCKER = new Map<string, string>([
  [MediaType.layerGzip, MediaType.dockerLayerGzip], [MediaType.layerTar, MediaType.dockerLayerTar],
  [MediaType.config, MediaType.dockerConfig], [MediaType.manifest, MediaType.dockerManifest],
  [MediaType.dockerLayerGzip, MediaType.dockerLayerGzip], [MediaType.dockerLayerTar, MediaType.dockerLayerTar],
  [MediaType.dockerConfig, MediaType.dockerConfig], [MediaType.dockerManifest, MediaType.dockerManifest],
]);

/** The Docker schema 2 equivalent of a media type, undefined when Docker has none. */
export function dockerMediaType(mt: string): string | undefined {
  // A Map: a media type read from an image ("toString") never finds a member of Object.prototype.
  return TO_DOCKER.get(mt);
}

/** The form of an image: OCI image spec, or Docker schema 2. */
export type ImageFormat = 'oci' | 'docker';

/** The form a manifest is in (a Docker schema 2 manifest is `docker`, anything else `oci`). */
export function formatOf(manifest: Pick<Manifest, 'mediaType'>): ImageFormat {
  return manifest.mediaType === MediaType.dockerManifest ? 'docker' : 'oci';
}

/** The config to write for format: unchanged for OCI; for Docker with container_config after config. */
export function formatConfig(config: ImageConfig, format: ImageFormat): ImageConfig {
  if (format === 'oci' || 'container_config' in config) return config;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config)) {
    out[k] = v;
    if (k === 'config') out.container_config = v;
  }
  if (!('container_config' in out)) out.container_config = {};
  return out as unknown as ImageConfig;
}

/** A layer's descriptor in format (Docker has no zstd layer type: refused). */
export function formatLayer(d: Descriptor, format: ImageFormat): Descriptor {
  if (format === 'oci') return d;
  const mt = dockerMediaType(d.mediaType);
  if (!mt) throw new BadInputError(`a Docker schema 2 image cannot hold a layer of type ${d.mediaType}`, { hint: 'push it with gzip or no compression, or in OCI form (--format oci)' });
  return { mediaType: mt, digest: d.digest, size: d.size };
}

/**
 * The manifest of an image in format: config and layer descriptors with that form's media types. A Docker
 * manifest has no annotations (they are left out, as buildah leaves them out).
 */
export function formatManifest(format: ImageFormat, config: { digest: string; size: number }, layers: readonly Descriptor[], annotations?: Record<string, string>): Manifest {
  const docker = format === 'docker';
  const m: Manifest = {
    schemaVersion: 2,
    mediaType: docker ? MediaType.dockerManifest : MediaType.manifest,
    config: { mediaType: docker ? MediaType.dockerConfig : MediaType.config, digest: config.digest, size: config.size },
    layers: layers.map((l) => formatLayer({ mediaType: l.mediaType, digest: l.digest, size: l.size }, format)),
  };
  if (!docker && annotations && Object.keys(annotations).length) m.annotations = annotations;
  return m;
}
