/*
 * The "simple signing" payload both kinds of registry signature sign: a small JSON document naming the
 * image's manifest digest and the reference it was signed for. An OpenPGP signature ("atomic container
 * signature", containers-signature(5)) wraps it in the signed message; a sigstore one (cosign's layout) stores
 * it as a blob and signs its bytes. The field order below is the one containers/image and cosign write, so the
 * bytes match theirs. Parsing is as strict as containers/image's: exactly the fields the format has in
 * `critical`, strings where strings belong.
 */

/** The `critical.type` of an OpenPGP simple signature. */
export const ATOMIC_TYPE = 'atomic container signature';
/** The `critical.type` of a sigstore (cosign) signature payload. */
export const COSIGN_TYPE = 'cosign container image signature';

/** What a payload claims: the manifest digest and the reference it was signed for, and its optional fields. */
export interface SignedClaims {
  type: string;
  digest: string;
  dockerReference: string;
  creator?: string;
  timestamp?: number;
}

/** A payload that is not one cairn or containers/image would accept; message says what is wrong. */
export class PayloadError extends Error {}

/** The payload of a sigstore signature for the manifest digest and reference, byte for byte as cosign lays it out. */
export function cosignPayload(dockerReference: string, digest: string): Buffer {
  return Buffer.from(JSON.stringify({ critical: { identity: { 'docker-reference': dockerReference }, image: { 'docker-manifest-digest': digest }, type: COSIGN_TYPE }, optional: null }));
}

/** The payload of an OpenPGP simple signature, as skopeo's `--sign-by` makes it (creator and timestamp in `optional`). */
export function atomicPayload(dockerReference: string, digest: string, creator: string, timestamp: number): Buffer {
  return Buffer.from(JSON.stringify({ critical: { type: ATOMIC_TYPE, image: { 'docker-manifest-digest': digest }, identity: { 'docker-reference': dockerReference } }, optional: { creator, timestamp } }));
}

function object(v: unknown, where: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new PayloadError(`${where} is not a JSON object`);
  return v as Record<string, unknown>;
}

/** o's fields must be exactly `names`. */
function exactly(o: Record<string, unknown>, names: string[], where: string): void {
  for (const k of Object.keys(o)) if (!names.includes(k)) throw new PayloadError(`${where} has an unknown field ${JSON.stringify(k)}`);
  for (const n of names) if (!(n in o)) throw new PayloadError(`${where} has no ${JSON.stringify(n)}`);
}

function string(v: unknown, where: string): string {
  if (typeof v !== 'string') throw new PayloadError(`${where} is not a string`);
  return v;
}

/** Parses a payload that must be of `type` (ATOMIC_TYPE or COSIGN_TYPE); PayloadError when it is not one. */
export function parsePayload(bytes: Uint8Array, type: string): SignedClaims {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new PayloadError('the signed payload is not JSON');
  }
  const top = object(doc, 'the signed payload');
  // containers/image wants both top-level fields for OpenPGP signatures; cosign writes `"optional": null`.
  if (type === ATOMIC_TYPE) exactly(top, ['critical', 'optional'], 'the signed payload');
  else for (const k of Object.keys(top)) if (k !== 'critical' && k !== 'optional') throw new PayloadError(`the signed payload has an unknown field ${JSON.stringify(k)}`);
  const critical = object(top.critical, 'critical');
  exactly(critical, ['type', 'image', 'identity'], 'critical');
  if (critical.type !== type) throw new PayloadError(`the signature is of type ${JSON.stringify(critical.type)}, not ${JSON.stringify(type)}`);
  const image = object(critical.image, 'critical.image');
  exactly(image, ['docker-manifest-digest'], 'critical.image');
  const identity = object(critical.identity, 'critical.identity');
  exactly(identity, ['docker-reference'], 'critical.identity');
  const claims: SignedClaims = { type, digest: string(image['docker-manifest-digest'], 'the signed digest'), dockerReference: string(identity['docker-reference'], 'the signed reference') };
  if (top.optional !== null && top.optional !== undefined) {
    const optional = object(top.optional, 'optional');
    if (typeof optional.creator === 'string') claims.creator = optional.creator;
    if (typeof optional.timestamp === 'number' && Number.isSafeInteger(optional.timestamp)) claims.timestamp = optional.timestamp;
  }
  return claims;
}
