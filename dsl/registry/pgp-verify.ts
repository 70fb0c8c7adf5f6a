import type { Key } from 'openpgp';

/*
 * Verifying OpenPGP simple signatures with openpgp.js (no gpg binary needed): the signature is a signed
 * OpenPGP message, maybe compressed, holding the payload. As containers/image, exactly one signature must be
 * in it, made by one of the keys the policy names (a subkey of one counts as that key).
 */

/** What a verified OpenPGP signature gave: the payload it holds, and the primary key fingerprint (upper-case hex) of its signer. */
export interface PgpVerified {
  payload: Uint8Array;
  fingerprint: string;
}

/** A signature that does not verify under the keys given; message says why. */
export class PgpError extends Error {}

/** Reads the keys of a keyring file's bytes (binary, as `gpg --export` writes, or ASCII-armored). */
export async function readKeyring(bytes: Uint8Array): Promise<Key[]> {
  const openpgp = await import('openpgp');
  const text = Buffer.from(bytes.subarray(0, 64)).toString('latin1');
  return text.includes('-----BEGIN PGP') ? openpgp.readKeys({ armoredKeys: Buffer.from(bytes).toString('utf8') }) : openpgp.readKeys({ binaryKeys: bytes });
}

/** Verifies an OpenPGP simple signature against keys; PgpError when it does not verify. */
export async function verifyPgp(sig: Uint8Array, keys: Key[]): Promise<PgpVerified> {
  const openpgp = await import('openpgp');
  let message;
  try {
    message = await openpgp.readMessage({ binaryMessage: sig });
  } catch (err) {
    throw new PgpError(`not an OpenPGP signed message (${(err as Error).message})`);
  }
  let result;
  try {
    result = await openpgp.verify({ message, verificationKeys: keys, format: 'binary' });
  } catch (err) {
    throw new PgpError(`the OpenPGP message does not verify (${(err as Error).message})`);
  }
  if (result.signatures.length !== 1) throw new PgpError(`the OpenPGP message holds ${result.signatures.length} signatures, not one`);
  const s = result.signatures[0];
  const signer = keys.find((k) => k.getKeys(s.keyID).length > 0);
  if (!signer) throw new PgpError(`signed by key ${s.keyID.toHex().toUpperCase()}, not one of the policy's keys`);
  try {
    await s.verified;
  } catch (err) {
    throw new PgpError(`the signature by key ${s.keyID.toHex().toUpperCase()} does not verify (${(err as Error).message})`);
  }
  return { payload: result.data as Uint8Array, fingerprint: signer.getFingerprint().toUpperCase() };
}
