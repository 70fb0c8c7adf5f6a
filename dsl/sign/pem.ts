import { BadInputError } from '../core/errors.js';

/*
 * Ed25519 keys as PEM (RFC 8410): the DER of both forms is a fixed prefix followed by the 32 key bytes,
 * so no ASN.1 parser is needed, and the strict prefix match refuses every other key type.
 */

/** SubjectPublicKeyInfo { AlgorithmIdentifier { 1.3.101.112 }, BIT STRING (32 bytes) }. */
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
/** OneAsymmetricKey v0 { AlgorithmIdentifier { 1.3.101.112 }, OCTET STRING { OCTET STRING (32 bytes) } }. */
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

function toPem(label: string, der: Buffer): string {
  const b64 = der.toString('base64').replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${b64}-----END ${label}-----\n`;
}

/** The DER inside the first PEM block labelled `label`; BadInputError when there is none or it is not base64. */
function fromPem(pem: string, label: string, what: string): Buffer {
  const re = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]*)-----END ${label}-----`);
  const m = re.exec(pem);
  if (!m) {
    const other = /-----BEGIN ([A-Z0-9 ]+)-----/.exec(pem);
    throw new BadInputError(other ? `expected a PEM "${label}" (${what}), found "${other[1]}"` : `no PEM "${label}" block (${what}) found`, {
      hint: label === 'PUBLIC KEY' ? 'give an Ed25519 public key PEM, as `cairn key show` prints' : 'the key file must be an Ed25519 PKCS#8 PEM, as cairn writes',
    });
  }
  return Buffer.from(m[1].replace(/\s+/g, ''), 'base64');
}

function strip(der: Buffer, prefix: Buffer, what: string): Uint8Array {
  if (der.length !== prefix.length + 32 || !der.subarray(0, prefix.length).equals(prefix)) {
    throw new BadInputError(`the PEM is not an Ed25519 ${what}`, { hint: 'cairn signs with Ed25519 keys only (openssl genpkey -algorithm ed25519 makes one)' });
  }
  return new Uint8Array(der.subarray(prefix.length));
}

/** An Ed25519 public key as an SPKI "PUBLIC KEY" PEM (what openssl and node:crypto read). */
export function publicKeyToPem(pk: Uint8Array): string {
  if (pk.length !== 32) throw new BadInputError(`an Ed25519 public key is 32 bytes, not ${pk.length}`);
  return toPem('PUBLIC KEY', Buffer.concat([SPKI_PREFIX, pk]));
}

/** The 32-byte key of an Ed25519 SPKI "PUBLIC KEY" PEM; BadInputError for anything else. */
export function publicKeyFromPem(pem: string): Uint8Array {
  return strip(fromPem(pem, 'PUBLIC KEY', 'an Ed25519 public key'), SPKI_PREFIX, 'public key');
}

/** An Ed25519 seed as the DER of a PKCS#8 private key. */
export function seedToDer(seed: Uint8Array): Buffer {
  if (seed.length !== 32) throw new BadInputError(`an Ed25519 private key is 32 bytes, not ${seed.length}`);
  return Buffer.concat([PKCS8_PREFIX, seed]);
}

/** An Ed25519 seed as a PKCS#8 "PRIVATE KEY" PEM (what openssl genpkey -algorithm ed25519 writes). */
export function seedToPem(seed: Uint8Array): string {
  return toPem('PRIVATE KEY', seedToDer(seed));
}

/** The 32-byte seed of an Ed25519 PKCS#8 "PRIVATE KEY" PEM; BadInputError for anything else. */
export function seedFromPem(pem: string): Uint8Array {
  return strip(fromPem(pem, 'PRIVATE KEY', 'an Ed25519 private key'), PKCS8_PREFIX, 'private key');
}
