import { BadInputError } from '../core/errors.js';
import { MediaType, type Descriptor, type Index, type Manifest } from '../oci/types.js';
import { checkIndex, checkManifest, isIndexType, parseJson, sha256 } from '../oci/validate.js';
import { getSmall } from './blob.js';
import type { RegistryClient } from './client.js';
import { digestMismatch } from './errors.js';
import { header } from './http.js';
import { choosePlatform, formatPlatform, type Platform } from './platform.js';

/** The largest manifest or index cairn reads from a registry (as containers/image). */
export const MANIFEST_LIMIT = 4 << 20;

/** The manifest types a pull asks for, in order of preference (no Docker schema 1). */
export const MANIFEST_ACCEPT = [MediaType.manifest, MediaType.index, MediaType.dockerManifest, MediaType.dockerManifestList].join(', ');

const SCHEMA1 = /^application\/vnd\.docker\.distribution\.manifest\.v1\+(json|prettyjws)$/;

/** A manifest or index as the registry sent it: the exact bytes, their media type and digest. */
export interface FetchedManifest {
  bytes: Buffer;
  mediaType: string;
  digest: string;
}

/** An image manifest resolved from a reference (through an index when there is one), with its digest. */
export interface ResolvedManifest {
  manifest: Manifest;
  bytes: Buffer;
  digest: string;
  /** The digest of the index it was chosen from, if any. */
  indexDigest?: string;
}

function unsupported(what: string, mt: string): BadInputError {
  return new BadInputError(`${what} has unsupported media type ${mt}`, {
    hint: SCHEMA1.test(mt) ? 'Docker schema 1 images are not supported: push the image again with a current tool' : 'cairn pulls OCI and Docker schema 2 images (manifests and indexes)',
  });
}

/** The media type of a manifest document: its own mediaType field, else the Content-Type, else what its shape says. */
function mediaTypeOf(doc: Record<string, unknown>, contentType: string | undefined): string {
  if (typeof doc.mediaType === 'string' && doc.mediaType) return doc.mediaType;
  const ct = contentType?.split(';')[0].trim();
  if (ct && ct !== 'application/json' && ct !== 'text/plain') return ct;
  if (doc.schemaVersion === 1) return 'application/vnd.docker.distribution.manifest.v1+json';
  return Array.isArray(doc.manifests) ? MediaType.index : MediaType.manifest;
}

/**
 * GETs the manifest or index `reference` (a tag or digest) names: at most MANIFEST_LIMIT bytes, its digest
 * checked against a digest reference (or `expected`), else against Docker-Content-Digest when the registry sends one.
 */
export async function fetchManifest(client: RegistryClient, reference: string, what: string, expected?: Descriptor): Promise<FetchedManifest> {
  const tooLarge = (size?: number) => new BadInputError(`the manifest of ${what} is ${size === undefined ? 'larger than' : `${size} bytes, more than`} cairn accepts (${MANIFEST_LIMIT} bytes)`, { hint: 'the registry is misbehaving or hostile' });
  const { res, bytes } = await getSmall(client, `/v2/${client.ref.repository}/manifests/${reference}`, { what, accept: MANIFEST_ACCEPT }, MANIFEST_LIMIT, (r) => {
    const length = Number(header(r, 'content-length'));
    if (Number.isFinite(length) && length > MANIFEST_LIMIT) {
      r.body.destroy();
      throw tooLarge(length);
    }
  });
  if (!bytes) throw tooLarge();
  const digest = sha256(bytes);
  const pinned = expected?.digest ?? (reference.startsWith('sha256:') ? reference : undefined);
  if (pinned && digest !== pinned) throw digestMismatch(pinned, `the manifest of ${what}`);
  if (expected && bytes.length !== expected.size) throw new BadInputError(`the manifest ${expected.digest} of ${what} has ${bytes.length} bytes, its descriptor says ${expected.size}`, { hint: 'the registry is misbehaving' });
  const said = header(res, 'docker-content-digest');
  if (!pinned && said?.startsWith('sha256:') && said !== digest) throw digestMismatch(said, `the manifest of ${what}`);
  const doc = parseJson(bytes, `the manifest of ${what}`);
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new BadInputError(`the manifest of ${what} is not a JSON object`, { hint: 'the registry is misbehaving' });
  const mediaType = mediaTypeOf(doc as Record<string, unknown>, header(res, 'content-type'));
  if (![MediaType.manifest, MediaType.index, MediaType.dockerManifest, MediaType.dockerManifestList].includes(mediaType as never)) throw unsupported(`the manifest of ${what}`, mediaType);
  return { bytes, mediaType, digest };
}

/**
 * Resolves reference to one image manifest: an index (or Docker manifest list) is followed to the entry for
 * `platform`, at most 4 indexes deep. The manifest is checked (OCI or Docker schema 2, valid descriptors).
 */
export async function resolveManifest(client: RegistryClient, reference: string, platform: Platform, what: string): Promise<ResolvedManifest> {
  let m = await fetchManifest(client, reference, what);
  let indexDigest: string | undefined;
  const seen = new Set<string>();
  for (let depth = 0; isIndexType(m.mediaType); depth++) {
    if (seen.has(m.digest) || depth >= 4) throw new BadInputError(`the index of ${what} nests too deeply or refers to itself`, { hint: 'the registry holds a hostile or broken index' });
    seen.add(m.digest);
    indexDigest ??= m.digest;
    const index: Index = checkIndex(parseJson(m.bytes, `index ${m.digest}`), `index ${m.digest} of ${what}`);
    const entry = choosePlatform(index.manifests, platform, `the index of ${what}`);
    m = await fetchManifest(client, entry.digest, `${what} (${formatPlatform(platform)})`, entry);
  }
  const manifest = checkManifest(parseJson(m.bytes, `manifest ${m.digest}`), `manifest ${m.digest} of ${what}`);
  return { manifest, bytes: m.bytes, digest: m.digest, ...(indexDigest ? { indexDigest } : {}) };
}
