import * as openpgp from 'openpgp';
import { describe, expect, it } from 'vitest';
import { PgpError, readKeyring, verifyPgp } from '../../../dsl/registry/pgp-verify.js';
import { atomicPayload } from '../../../dsl/registry/simple-signing.js';

const D = `sha256:${'9'.repeat(64)}`;

async function key(name: string) {
  const { privateKey, publicKey } = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name }], format: 'object' });
  return { privateKey, publicKey };
}

/** A signed (not detached) binary OpenPGP message of payload, as `gpg --sign` makes. */
async function signed(payload: Uint8Array, ...signers: openpgp.PrivateKey[]): Promise<Uint8Array> {
  const message = await openpgp.createMessage({ binary: payload });
  return (await openpgp.sign({ message, signingKeys: signers, format: 'binary' })) as Uint8Array;
}

describe('OpenPGP simple signatures', async () => {
  const alice = await key('alice');
  const bob = await key('bob');
  const payload = atomicPayload('reg.example.com/app:1', D, 'test', 1);

  it('reads keyrings binary and armored', async () => {
    expect((await readKeyring(alice.publicKey.write() as Uint8Array))[0].getFingerprint()).toBe(alice.publicKey.getFingerprint());
    expect((await readKeyring(Buffer.from(alice.publicKey.armor())))[0].getFingerprint()).toBe(alice.publicKey.getFingerprint());
  });

  it('gives the payload and the signer of a valid signature', async () => {
    const v = await verifyPgp(await signed(payload, alice.privateKey), [bob.publicKey, alice.publicKey]);
    expect(Buffer.from(v.payload).equals(payload)).toBe(true);
    expect(v.fingerprint).toBe(alice.publicKey.getFingerprint().toUpperCase());
  });

  it('refuses a signature by a key the policy does not name', async () => {
    await expect(verifyPgp(await signed(payload, bob.privateKey), [alice.publicKey])).rejects.toThrow(/not one of the policy's keys/);
  });

  it('refuses a message with two signatures, bytes that are not a message, and a changed payload', async () => {
    await expect(verifyPgp(await signed(payload, alice.privateKey, bob.privateKey), [alice.publicKey, bob.publicKey])).rejects.toThrow(/2 signatures/);
    await expect(verifyPgp(Buffer.from('not pgp'), [alice.publicKey])).rejects.toThrow(PgpError);
    const unsignedMessage = (await openpgp.createMessage({ binary: payload })).write() as Uint8Array;
    await expect(verifyPgp(unsignedMessage, [alice.publicKey])).rejects.toThrow(PgpError);
  });
});
