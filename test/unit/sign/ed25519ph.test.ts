import { createHash, createPrivateKey, createPublicKey, randomBytes, sign as nodeSign } from 'node:crypto';
import { ed25519, ed25519ph } from '@noble/curves/ed25519.js';
import { describe, expect, it } from 'vitest';
import { publicKeyOf, signatureWellFormed, signPrehashed, verifyPrehashed } from '../../../dsl/sign/ed25519ph.js';
import { seedToPem } from '../../../dsl/sign/pem.js';

const sha512 = (m: Uint8Array): Buffer => createHash('sha512').update(m).digest();
const ctx = (s: string): Uint8Array => new TextEncoder().encode(s);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

const SEED = Uint8Array.from(Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex'));

describe('Ed25519ph over a precomputed SHA-512', () => {
  it('matches RFC 8032 section 7.3 (Ed25519ph, empty context, message "abc")', () => {
    const seed = Buffer.from('833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42', 'hex');
    expect(hex(publicKeyOf(seed))).toBe('ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf');
    const sig = signPrehashed(sha512(Buffer.from('abc')), seed, '');
    expect(hex(sig)).toBe(
      '98a70222f0b8121aa9d30f813d683f809e462b469c7ff87639499bb94e6dae4131f85042463c2a355a2003d062adf5aaa10b8c61e636062aaad11c2a26083406',
    );
  });

  it('derives the public key noble derives from the seed (RFC 8032 5.1.5), for random seeds', () => {
    for (let i = 0; i < 20; i++) {
      const seed = randomBytes(32);
      expect(hex(publicKeyOf(seed))).toBe(hex(ed25519.getPublicKey(seed)));
    }
    expect(() => publicKeyOf(new Uint8Array(31))).toThrow(/32 bytes/);
  });

  const messages: [string, Buffer][] = [
    ['empty', Buffer.alloc(0)],
    ['one byte', Buffer.from([0])],
    ['text', Buffer.from('hello bali')],
    ['127 bytes', randomBytes(127)],
    ['128 bytes', randomBytes(128)],
    ['a tar-sized block', randomBytes(1536)],
    ['64 KiB', randomBytes(65536)],
  ];
  it.each(messages)('equals noble ed25519ph.sign (context "bali") for %s', (_what, m) => {
    const seed = randomBytes(32);
    const mine = signPrehashed(sha512(m), seed);
    const noble = ed25519ph.sign(m, seed, { context: ctx('bali') });
    expect(hex(mine)).toBe(hex(noble));
    const pk = publicKeyOf(seed);
    expect(verifyPrehashed(mine, sha512(m), pk)).toBe(true);
    expect(ed25519ph.verify(mine, m, pk, { context: ctx('bali') })).toBe(true);
  });

  it('is not plain Ed25519 nor another context', () => {
    const m = Buffer.from('x');
    const sig = signPrehashed(sha512(m), SEED);
    const pk = publicKeyOf(SEED);
    expect(verifyPrehashed(sig, sha512(m), pk, 'other')).toBe(false);
    expect(verifyPrehashed(sig, sha512(m), pk, '')).toBe(false);
    expect(ed25519.verify(sig, sha512(m), pk)).toBe(false);
    expect(hex(signPrehashed(sha512(m), SEED, 'other'))).toBe(hex(ed25519ph.sign(m, SEED, { context: ctx('other') })));
  });

  it('refuses another message, another key and a changed signature', () => {
    const d = sha512(Buffer.from('a'));
    const sig = signPrehashed(d, SEED);
    const pk = publicKeyOf(SEED);
    expect(verifyPrehashed(sig, sha512(Buffer.from('b')), pk)).toBe(false);
    expect(verifyPrehashed(sig, d, publicKeyOf(randomBytes(32)))).toBe(false);
    for (const i of [0, 31, 32, 63]) {
      const bad = Uint8Array.from(sig);
      bad[i] ^= 1;
      expect(verifyPrehashed(bad, d, pk)).toBe(false);
    }
    expect(verifyPrehashed(sig.subarray(0, 63), d, pk)).toBe(false);
    expect(verifyPrehashed(sig, d, pk.subarray(0, 31))).toBe(false);
  });

  it('needs a 64-byte digest', () => {
    expect(() => signPrehashed(new Uint8Array(32), SEED)).toThrow(/64-byte/);
  });

  it('derives the public key as node:crypto (OpenSSL) does', () => {
    for (let i = 0; i < 5; i++) {
      const seed = randomBytes(32);
      const pub = createPublicKey(createPrivateKey(seedToPem(seed))).export({ format: 'der', type: 'spki' });
      expect(hex(publicKeyOf(seed))).toBe(hex(pub.subarray(12)));
      // Same key, plain Ed25519 (which node:crypto can sign): noble checks OpenSSL's signature under our public key.
      const sig = nodeSign(null, Buffer.from('m'), createPrivateKey(seedToPem(seed)));
      expect(ed25519.verify(sig, Buffer.from('m'), publicKeyOf(seed))).toBe(true);
    }
  });

  it('tells malformed signatures (S ≥ L, R off the curve) from well-formed ones', () => {
    const sig = signPrehashed(sha512(Buffer.from('a')), SEED);
    expect(signatureWellFormed(sig)).toBe(true);
    const bigS = Uint8Array.from(sig);
    bigS[63] ^= 0xf0;
    expect(signatureWellFormed(bigS)).toBe(false);
    // y = 2 is not on ed25519 (x² = (y² − 1)/(d·y² + 1) has no root there).
    const offCurve = Uint8Array.from(sig);
    offCurve.set(Buffer.alloc(32), 0);
    offCurve[0] = 2;
    expect(signatureWellFormed(offCurve)).toBe(false);
  });
});
