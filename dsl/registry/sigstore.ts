import { NotFoundError } from '../core/errors.js';
import type { Descriptor } from '../oci/types.js';
import { sha256 } from '../oci/validate.js';
import { readBlob } from './blob.js';
import type { RegistryClient } from './client.js';
import { drain } from './http.js';
import { fetchManifest } from './manifest.js';
import { pushBlob } from './push.js';

/*
 * Sigstore signatures in cosign's layout: for a manifest sha256:HEX, the tag `sha256-HEX.sig` of the same
 * repository holds an OCI manifest whose layers are signature payloads (simple-signing JSON, media type
 * SIMPLESIGNING_TYPE), each with its base64 signature in the SIGNATURE_ANNOTATION of its descriptor. Adding a
 * signature appends a layer (as cosign does): the signatures already there stay.
 */

/** The media type of a sigstore signature payload layer. */
export const SIMPLESIGNING_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
/** The layer annotation holding the base64 signature of the payload. */
export const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
/** The largest payload read, and the most signature layers one image's tag may hold. */
const PAYLOAD_LIMIT = 4 << 20;
const MAX_LAYERS = 128;

/** A sigstore signature: the payload bytes and the signature of them. */
export interface SigstoreSignature {
  payload: Buffer;
  signature: Buffer;
}

/** The tag holding the signatures of a manifest digest: `sha256-HEX.sig`. */
export function signatureTag(digest: string): string {
  return `${digest.replace(':', '-')}.sig`;
}

/** The signature layers of a signature manifest's bytes (other layers are not signatures and are left out). */
export function signatureLayers(bytes: Buffer): Descriptor[] {
  const doc = JSON.parse(bytes.toString('utf8')) as { layers?: unknown };
  if (!Array.isArray(doc.layers)) return [];
  return doc.layers.filter((l): l is Descriptor => {
    const d = l as Partial<Descriptor>;
    return typeof l === 'object' && l !== null && d.mediaType === SIMPLESIGNING_TYPE && typeof d.digest === 'string' && /^sha256:[0-9a-f]{64}$/.test(d.digest) && Number.isSafeInteger(d.size) && typeof d.annotations?.[SIGNATURE_ANNOTATION] === 'string';
  });
}

/** The manifest of the signature tag, or undefined when there is none. */
async function signatureManifest(client: RegistryClient, digest: string, what: string): Promise<Buffer | undefined> {
  try {
    return (await fetchManifest(client, signatureTag(digest), `the sigstore signatures of ${what}`)).bytes;
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
}

/** The sigstore signatures the registry holds for a manifest digest (none when the tag does not exist). */
export async function readSigstoreSignatures(client: RegistryClient, digest: string, what: string): Promise<SigstoreSignature[]> {
  const bytes = await signatureManifest(client, digest, what);
  if (!bytes) return [];
  const out: SigstoreSignature[] = [];
  for (const d of signatureLayers(bytes).slice(0, MAX_LAYERS)) {
    const payload = await readBlob(client, d, `a sigstore signature payload of ${what}`, PAYLOAD_LIMIT);
    out.push({ payload, signature: Buffer.from(d.annotations![SIGNATURE_ANNOTATION], 'base64') });
  }
  return out;
}

/** The config of a signature manifest: an empty image config whose diff_ids name its layers (as cosign writes it). */
export function signatureConfig(layers: Descriptor[]): Buffer {
  return Buffer.from(JSON.stringify({ architecture: '', os: '', config: {}, rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) } }));
}

/** The bytes of a signature manifest holding layers. */
export function signatureManifestBytes(config: Buffer, layers: Descriptor[]): Buffer {
  const cfg = { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length };
  return Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: cfg, layers }));
}

/**
 * Adds a signature of payload to the signature tag of digest through client (opened for pushing): the layers
 * already there are kept, the same signature twice is stored once. Returns the signature tag.
 */
export async function attachSigstoreSignature(client: RegistryClient, digest: string, sig: SigstoreSignature, what: string): Promise<string> {
  const tag = signatureTag(digest);
  const existing = await signatureManifest(client, digest, what);
  const layers: Descriptor[] = existing ? (JSON.parse(existing.toString('utf8')) as { layers?: Descriptor[] }).layers ?? [] : [];
  const annotation = sig.signature.toString('base64');
  const layer: Descriptor = { mediaType: SIMPLESIGNING_TYPE, digest: sha256(sig.payload), size: sig.payload.length, annotations: { [SIGNATURE_ANNOTATION]: annotation } };
  if (!layers.some((l) => l.digest === layer.digest && l.annotations?.[SIGNATURE_ANNOTATION] === annotation)) layers.push(layer);
  const config = signatureConfig(layers);
  const manifest = signatureManifestBytes(config, layers);
  const cfg = { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length };
  await pushBlob(client, layer, async () => sig.payload, { what: `the signature payload for ${what}` });
  await pushBlob(client, cfg, async () => config, { what: `the signature config for ${what}` });
  const res = await client.request({
    method: 'PUT',
    url: `/v2/${client.ref.repository}/manifests/${tag}`,
    headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'content-length': String(manifest.length) },
    body: () => manifest,
    what: `the signature manifest of ${what}`,
    ok: [201, 200, 204],
  });
  await drain(res);
  return tag;
}
