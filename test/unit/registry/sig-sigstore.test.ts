import { generateKeyPairSync } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { describe, expect, it } from 'vitest';
import { BadInputError } from '../../../dsl/core/errors.js';
import { seedToPem, publicKeyToPem } from '../../../dsl/sign/pem.js';
import { signPayload, sigstorePrivateKey, sigstorePublicKey, verifyPayload } from '../../../dsl/registry/sigstore-crypto.js';
import { SIGNATURE_ANNOTATION, SIMPLESIGNING_TYPE, signatureConfig, signatureLayers, signatureManifestBytes, signatureTag } from '../../../dsl/registry/sigstore.js';
import { cosignPayload } from '../../../dsl/registry/simple-signing.js';
import { registryPrecheck, requirementsFor } from '../../../dsl/sign/policy-judge.js';
import { parsePolicy } from '../../../dsl/sign/policy-format.js';

const D = `sha256:${'f'.repeat(64)}`;

describe('sigstore signatures', () => {
  it('names the signature tag after the digest', () => {
    expect(signatureTag(D)).toBe(`sha256-${'f'.repeat(64)}.sig`);
  });

  it('signs with pure Ed25519 over the payload bytes (checked by @noble/curves, not Ed25519ph)', () => {
    const seed = new Uint8Array(32).fill(7);
    const payload = cosignPayload('reg/app:1', D);
    const sig = signPayload(payload, sigstorePrivateKey(seedToPem(seed), 'test'));
    const pub = ed25519.getPublicKey(seed);
    expect(ed25519.verify(sig, payload, pub)).toBe(true);
    const key = sigstorePublicKey(publicKeyToPem(pub), 'test');
    expect(verifyPayload(payload, sig, key)).toBe(true);
    expect(verifyPayload(Buffer.concat([payload, Buffer.from(' ')]), sig, key)).toBe(false);
  });

  it('verifies ECDSA P-256 signatures (cosign keys) and refuses another key\'s', () => {
    const a = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const b = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const payload = cosignPayload('reg/app:1', D);
    const sig = signPayload(payload, a.privateKey);
    expect(verifyPayload(payload, sig, sigstorePublicKey(a.publicKey.export({ type: 'spki', format: 'pem' }) as string, 'a'))).toBe(true);
    expect(verifyPayload(payload, sig, sigstorePublicKey(b.publicKey.export({ type: 'spki', format: 'pem' }) as string, 'b'))).toBe(false);
  });

  it('refuses a key that is not one', () => {
    expect(() => sigstorePublicKey('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n', 'policy')).toThrow(BadInputError);
  });

  it('builds a signature manifest cosign and containers/image read, and reads its signature layers back', () => {
    const payload = cosignPayload('reg/app:1', D);
    const layer = { mediaType: SIMPLESIGNING_TYPE, digest: `sha256:${'1'.repeat(64)}`, size: payload.length, annotations: { [SIGNATURE_ANNOTATION]: 'c2ln' } };
    const other = { mediaType: 'application/octet-stream', digest: `sha256:${'2'.repeat(64)}`, size: 3 };
    const config = signatureConfig([layer]);
    expect(JSON.parse(config.toString()).rootfs).toEqual({ type: 'layers', diff_ids: [layer.digest] });
    const m = signatureManifestBytes(config, [layer, other]);
    const doc = JSON.parse(m.toString());
    expect(doc.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(doc.config.mediaType).toBe('application/vnd.oci.image.config.v1+json');
    expect(signatureLayers(m)).toEqual([layer]);
  });
});

describe('the policy for registry images, before fetching', () => {
  const judge = (reqs: string) => registryPrecheck(requirementsFor(parsePolicy(`{"default":[{"type":"reject"}],"transports":{"docker":{"reg.example.com":${reqs}}}}`, 'p.json'), 'docker', ['reg.example.com/app:1', 'reg.example.com/app', 'reg.example.com']));
  it.each<[string, string, 'refusal' | number]>([
    ['accept anything', '[{"type":"insecureAcceptAnything"}]', 0],
    ['reject', '[{"type":"reject"}]', 'refusal'],
    ['signedBaseLayer', '[{"type":"signedBaseLayer","baseLayerIdentity":{"type":"matchRepository"}}]', 'refusal'],
    ['cairnSigned', '[{"type":"cairnSigned"}]', 'refusal'],
    ['signedBy', '[{"type":"signedBy","keyType":"GPGKeys","keyPath":"/k.gpg"}]', 1],
    ['both kinds', '[{"type":"signedBy","keyType":"GPGKeys","keyPath":"/k.gpg"},{"type":"sigstoreSigned","keyPath":"/k.pem"}]', 2],
  ])('%s', (_n, reqs, want) => {
    const j = judge(reqs);
    if (want === 'refusal') expect('refusal' in j && !j.refusal.ok && j.refusal.message).toMatch(/p\.json, transport "docker", scope "reg\.example\.com"/);
    else expect('check' in j && j.check.length).toBe(want);
  });
});
