import { createHash } from 'node:crypto';
import { BadInputError, CairnError } from '../errors.js';
import { isDigest } from '../store/digest.js';
import type { Descriptor, ImageConfig, Index, Manifest } from './types.js';
import { MediaType } from './types.js';

/** sha256 digest of some bytes, as `sha256:<hex>`. */
export function sha256(bytes: Uint8Array | string): string {
  return 'sha256:' + createHash('sha256').update(bytes).digest('hex');
}

function bad(label: string, what: string): BadInputError {
  return new BadInputError(`${label} ${what}`, { hint: 'the image is corrupt or was not written by an OCI tool' });
}

/** Parses JSON, naming label (a file) in the BadInputError when it does not parse. */
export function parseJson(bytes: Buffer | string, label: string): unknown {
  try {
    return JSON.parse(bytes.toString());
  } catch (err) {
    throw bad(label, `is not valid JSON: ${(err as Error).message}`);
  }
}

/**
 * True for errors that mean "the bytes are malformed" (tar-stream's code-less errors, zlib's Z_*
 * codes), as opposed to system errors (EIO, ENOSPC) and errors already classified.
 */
export function isFormatError(err: unknown): boolean {
  if (err instanceof CairnError || !(err instanceof Error)) return false;
  const code = (err as NodeJS.ErrnoException).code;
  return code === undefined || code.startsWith('Z_') || code === 'ERR_ZLIB_INITIALIZATION_FAILED';
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Checks a descriptor's required fields (the digest is validated, so it may later become a path). */
export function checkDescriptor(v: unknown, label: string): Descriptor {
  if (!isObject(v)) throw bad(label, 'has a descriptor that is not an object');
  if (typeof v.mediaType !== 'string') throw bad(label, 'has a descriptor without a mediaType');
  if (!isDigest(v.digest)) throw bad(label, `has a descriptor with an invalid digest ${JSON.stringify(v.digest)}`);
  if (!Number.isSafeInteger(v.size) || (v.size as number) < 0) throw bad(label, `has a descriptor of ${v.digest} with an invalid size`);
  if (v.annotations !== undefined && !isObject(v.annotations)) throw bad(label, 'has descriptor annotations that are not an object');
  return v as unknown as Descriptor;
}

/** Checks an image index. */
export function checkIndex(v: unknown, label: string): Index {
  if (!isObject(v) || v.schemaVersion !== 2 || !Array.isArray(v.manifests)) throw bad(label, 'is not an OCI image index (schemaVersion 2 with manifests)');
  v.manifests.forEach((d) => checkDescriptor(d, label));
  return v as unknown as Index;
}

/** Checks an image manifest (OCI or Docker schema 2). */
export function checkManifest(v: unknown, label: string): Manifest {
  if (!isObject(v) || v.schemaVersion !== 2 || !Array.isArray(v.layers)) throw bad(label, 'is not an image manifest (schemaVersion 2 with config and layers)');
  if (v.mediaType !== undefined && v.mediaType !== MediaType.manifest && v.mediaType !== MediaType.dockerManifest) {
    throw bad(label, `has unsupported mediaType ${JSON.stringify(v.mediaType)}`);
  }
  checkDescriptor(v.config, label);
  v.layers.forEach((d) => checkDescriptor(d, label));
  return v as unknown as Manifest;
}

/** Checks an image config: os, architecture and rootfs.diff_ids, one per layer when layers is given. */
export function checkConfig(v: unknown, label: string, layers?: number): ImageConfig {
  if (!isObject(v)) throw bad(label, 'is not a JSON object');
  if (typeof v.architecture !== 'string' || typeof v.os !== 'string') throw bad(label, 'lacks architecture or os');
  const rootfs = v.rootfs;
  if (!isObject(rootfs) || rootfs.type !== 'layers' || !Array.isArray(rootfs.diff_ids)) throw bad(label, 'lacks rootfs.diff_ids');
  for (const d of rootfs.diff_ids) if (!isDigest(d)) throw bad(label, `has an invalid diff ID ${JSON.stringify(d)}`);
  if (layers !== undefined && rootfs.diff_ids.length !== layers) {
    throw bad(label, `lists ${rootfs.diff_ids.length} diff IDs for ${layers} layers`);
  }
  return v as unknown as ImageConfig;
}

/** True for media types of image indexes (OCI index, Docker manifest list). */
export function isIndexType(mt: string | undefined): boolean {
  return mt === MediaType.index || mt === MediaType.dockerManifestList;
}

/** The OCI equivalent of a Docker media type (others unchanged): an oci: layout holds OCI types only. */
export function ociMediaType(mt: string): string {
  const m: Record<string, string> = {
    [MediaType.dockerLayerGzip]: MediaType.layerGzip,
    [MediaType.dockerLayerTar]: MediaType.layerTar,
    [MediaType.dockerConfig]: MediaType.config,
    [MediaType.dockerManifest]: MediaType.manifest,
  };
  return m[mt] ?? mt;
}
