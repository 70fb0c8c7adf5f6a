import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { BadInputError } from '../core/errors.js';

/*
 * The signatures of sigstore (cosign) payloads, as containers/image's sigstoreSigned verifies them with a
 * public key: Ed25519 keys sign the payload's bytes as they are (pure Ed25519, not Ed25519ph); ECDSA (cosign's
 * usual P-256) and RSA keys sign its SHA-256 (ECDSA signatures in ASN.1 DER, RSA in PKCS#1 v1.5).
 */

/** The digest algorithm node:crypto signs or verifies with for a key (null for Ed25519, which takes the message). */
function algorithmOf(key: KeyObject): string | null {
  switch (key.asymmetricKeyType) {
    case 'ed25519':
      return null;
    case 'ec':
    case 'rsa':
      return 'sha256';
    default:
      throw new BadInputError(`a ${key.asymmetricKeyType ?? 'symmetric'} key cannot make or check sigstore signatures`, { hint: 'use an Ed25519, ECDSA P-256 or RSA key' });
  }
}

/** A public key from PEM text (SPKI "PUBLIC KEY"); BadInputError naming where it came from. */
export function sigstorePublicKey(pem: string, where: string): KeyObject {
  try {
    const key = createPublicKey(pem);
    algorithmOf(key);
    return key;
  } catch (err) {
    throw new BadInputError(`${where}: not a usable public key PEM (${(err as Error).message})`, { kind: 'signature-policy', hint: 'sigstoreSigned keys are PEM public keys: Ed25519 (`cairn key show`), ECDSA P-256 (cosign.pub) or RSA', cause: err });
  }
}

/** A private key from PEM text (PKCS#8, unencrypted); BadInputError naming the file. */
export function sigstorePrivateKey(pem: string, where: string): KeyObject {
  try {
    const key = createPrivateKey(pem);
    algorithmOf(key);
    return key;
  } catch (err) {
    throw new BadInputError(`${where}: not a usable private key (${(err as Error).message})`, { hint: 'give an unencrypted PKCS#8 PEM key: cairn\'s key.pem, or `openssl genpkey -algorithm ed25519`', cause: err });
  }
}

/** Signs payload with key: the raw signature bytes. */
export function signPayload(payload: Uint8Array, key: KeyObject): Buffer {
  return sign(algorithmOf(key), payload, key);
}

/** True when sig is key's signature of payload. */
export function verifyPayload(payload: Uint8Array, sig: Uint8Array, key: KeyObject): boolean {
  try {
    return verify(algorithmOf(key), payload, key, sig);
  } catch {
    return false;
  }
}

/** A short name of a public key for messages: its type and the start of its SPKI's SHA-256. */
export function keyLabel(key: KeyObject): string {
  return `${key.asymmetricKeyType} key ${createHash('sha256').update(key.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 16)}`;
}
