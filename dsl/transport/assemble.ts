import type { SourceImage, SourceLayer } from './source.js';
import { emptyConfig, MediaType, type ImageConfig, type Manifest } from '../oci/types.js';
import { sha256 } from '../oci/validate.js';

/** An OCI manifest for config bytes and layers (used by sources that have no manifest of their own). */
export function manifestFor(configBytes: Buffer, layers: SourceLayer[]): Manifest {
  return {
    schemaVersion: 2,
    mediaType: MediaType.manifest,
    config: { mediaType: MediaType.config, digest: sha256(configBytes), size: configBytes.length },
    layers: layers.map((l) => l.descriptor),
  };
}

/** A SourceImage from its parts, with a synthesized OCI manifest. */
export function assemble(config: ImageConfig, configBytes: Buffer, layers: SourceLayer[], extra: { names?: string[]; close?: () => Promise<void> } = {}): SourceImage {
  return {
    manifest: manifestFor(configBytes, layers),
    configBytes,
    config,
    layers,
    names: extra.names,
    close: extra.close ?? (async () => undefined),
  };
}

/** The `scratch` image: no layers and an empty config. */
export function scratchImage(): SourceImage {
  const config = emptyConfig();
  return assemble(config, Buffer.from(JSON.stringify(config)), []);
}
