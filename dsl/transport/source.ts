import type { Readable } from 'node:stream';
import type { Descriptor, ImageConfig, Manifest } from '../oci/types.js';

/** A layer of an image being read: its descriptor and a way to stream its blob (compressed as stored). */
export interface SourceLayer {
  /** The layer's descriptor as the manifest gives it (digest and size of the blob). */
  descriptor: Descriptor;
  /** The layer's diffID (sha256 of the uncompressed tar), from the config's rootfs. */
  diffID: string;
  /** Streams the blob's bytes; the stream errors (BadInputError) if they do not match the descriptor. */
  open(): Promise<Readable>;
}

/** An image read from any transport: manifest, config and lazily opened layers. */
export interface SourceImage {
  manifest: Manifest;
  /** The config exactly as stored (its sha256 is the image ID). */
  configBytes: Buffer;
  config: ImageConfig;
  layers: SourceLayer[];
  /** Names the source gives the image (a tag, RepoTags), if any. */
  names?: string[];
  /**
   * The manifest exactly as the source holds it, when the source passes its blobs on unchanged (a registry):
   * a copy to a registry writes these bytes, so the image keeps its digest, as skopeo copy keeps it.
   */
  original?: { bytes: Buffer; mediaType: string };
  /** Frees temporary files the source needed (call when done). */
  close(): Promise<void>;
}
