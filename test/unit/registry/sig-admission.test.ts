import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BadInputError, SignatureError } from '../../../dsl/core/errors.js';
import { admitRegistry } from '../../../dsl/registry/signature-policy.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'cairn-admit-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const pub = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }) as string;
writeFileSync(path.join(tmp, 'k.pem'), pub);

/** A policy file whose docker scope reg.example.com has reqs. */
function policy(reqs: unknown[]): string {
  const file = path.join(tmp, `p${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }], transports: { docker: { 'reg.example.com': reqs } } }));
  return file;
}

describe('admitting a registry image before anything is fetched', () => {
  it('has nothing to check outside the scope, or under insecureAcceptAnything', async () => {
    expect((await admitRegistry('quay.io/app:1', policy([{ type: 'reject' }]))).checks).toEqual([]);
  });

  it('reads the keys a requirement names: keyPath and keyData', async () => {
    const a = await admitRegistry('reg.example.com/app:1', policy([{ type: 'sigstoreSigned', keyPath: path.join(tmp, 'k.pem') }, { type: 'sigstoreSigned', keyData: Buffer.from(pub).toString('base64'), signedIdentity: { type: 'matchRepository' } }]));
    expect(a.checks.map((c) => [c.type, c.keys.length, c.identity.type])).toEqual([['sigstoreSigned', 1, 'matchRepoDigestOrExact'], ['sigstoreSigned', 1, 'matchRepository']]);
  });

  it.each<[string, unknown, RegExp]>([
    ['reject', { type: 'reject' }, /rejected by the signature policy/],
    ['X.509 signedBy', { type: 'signedBy', keyType: 'X509Certificates', keyPath: '/k' }, /keyType X509Certificates is not implemented/],
    ['fulcio', { type: 'sigstoreSigned', fulcio: { caPath: '/ca', oidcIssuer: 'x', subjectEmail: 'y' } }, /fulcio certificates is not supported/],
    ['a Rekor key', { type: 'sigstoreSigned', keyPath: path.join(tmp, 'k.pem'), rekorPublicKeyPath: '/r' }, /Rekor key is not supported/],
  ])('refuses %s with a SignatureError naming the image and the policy', async (_n, req, msg) => {
    const err = await admitRegistry('reg.example.com/app:1', policy([req])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SignatureError);
    expect((err as Error).message).toMatch(/^docker:\/\/reg\.example\.com\/app:1: /);
    expect((err as Error).message).toMatch(msg);
  });

  it('a key list that is not strings is an error of the policy file', async () => {
    const err = await admitRegistry('reg.example.com/app:1', policy([{ type: 'sigstoreSigned', keyPaths: [5] }])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadInputError);
    expect((err as BadInputError).kind).toBe('signature-policy');
  });

  it('a key file that is missing or not a key is an error of the policy', async () => {
    await expect(admitRegistry('reg.example.com/app:1', policy([{ type: 'sigstoreSigned', keyPath: path.join(tmp, 'none.pem') }]))).rejects.toThrow(BadInputError);
    writeFileSync(path.join(tmp, 'junk'), 'junk');
    await expect(admitRegistry('reg.example.com/app:1', policy([{ type: 'signedBy', keyType: 'GPGKeys', keyPath: path.join(tmp, 'junk') }]))).rejects.toThrow(/not an OpenPGP keyring/);
  });
});
