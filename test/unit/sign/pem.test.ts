import { spawnSync } from 'node:child_process';
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BadInputError } from '../../../dsl/core/errors.js';
import { publicKeyOf } from '../../../dsl/sign/ed25519ph.js';
import { publicKeyFromPem, publicKeyToPem, seedFromPem, seedToPem } from '../../../dsl/sign/pem.js';
import { tmp } from '../../kit/bali.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const hasOpenssl = spawnSync('openssl', ['version']).status === 0;

describe('Ed25519 PEM', () => {
  it('round-trips public keys and seeds', () => {
    const seed = randomBytes(32);
    const pk = publicKeyOf(seed);
    expect(hex(publicKeyFromPem(publicKeyToPem(pk)))).toBe(hex(pk));
    expect(hex(seedFromPem(seedToPem(seed)))).toBe(hex(seed));
    expect(publicKeyToPem(pk)).toMatch(/^-----BEGIN PUBLIC KEY-----\n[A-Za-z0-9+/=]{60}\n-----END PUBLIC KEY-----\n$/);
  });

  it('writes what node:crypto reads, with the same public key', () => {
    const seed = randomBytes(32);
    const priv = createPrivateKey(seedToPem(seed));
    expect(priv.asymmetricKeyType).toBe('ed25519');
    const pub = createPublicKey(publicKeyToPem(publicKeyOf(seed)));
    expect(pub.asymmetricKeyType).toBe('ed25519');
    expect(pub.export({ format: 'jwk' }).x).toBe(createPublicKey(priv).export({ format: 'jwk' }).x);
    expect(Buffer.from(pub.export({ format: 'jwk' }).x!, 'base64url').toString('hex')).toBe(hex(publicKeyOf(seed)));
  });

  it('reads what node:crypto writes', () => {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const pubPem = publicKey.export({ format: 'pem', type: 'spki' }).toString();
    const privPem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const seed = seedFromPem(privPem);
    expect(hex(publicKeyOf(seed))).toBe(hex(publicKeyFromPem(pubPem)));
    expect(privateKey.export({ format: 'jwk' }).d).toBe(Buffer.from(seed).toString('base64url'));
    // Surrounding text (comments, CRLF) is fine.
    expect(hex(publicKeyFromPem(`my key:\r\n${pubPem.replace(/\n/g, '\r\n')}trailing`))).toBe(hex(publicKeyFromPem(pubPem)));
  });

  it.skipIf(!hasOpenssl)('writes what openssl reads, and reads what openssl genpkey writes', () => {
    const dir = tmp();
    const seed = randomBytes(32);
    writeFileSync(path.join(dir, 'k.pem'), seedToPem(seed));
    writeFileSync(path.join(dir, 'k.pub.pem'), publicKeyToPem(publicKeyOf(seed)));
    expect(spawnSync('openssl', ['pkey', '-in', path.join(dir, 'k.pem'), '-noout']).status).toBe(0);
    const derived = spawnSync('openssl', ['pkey', '-in', path.join(dir, 'k.pem'), '-pubout'], { encoding: 'utf8' });
    expect(derived.stdout).toBe(publicKeyToPem(publicKeyOf(seed)));
    expect(spawnSync('openssl', ['pkey', '-pubin', '-in', path.join(dir, 'k.pub.pem'), '-noout']).status).toBe(0);
    const gen = spawnSync('openssl', ['genpkey', '-algorithm', 'ed25519'], { encoding: 'utf8' });
    expect(gen.status).toBe(0);
    expect(seedFromPem(gen.stdout)).toHaveLength(32);
  });

  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const x25519 = generateKeyPairSync('x25519');
  it.each([
    ['an RSA public key', () => publicKeyFromPem(rsa.publicKey.export({ format: 'pem', type: 'spki' }).toString()), /not an Ed25519 public key/],
    ['an EC public key', () => publicKeyFromPem(ec.publicKey.export({ format: 'pem', type: 'spki' }).toString()), /not an Ed25519 public key/],
    ['an X25519 public key', () => publicKeyFromPem(x25519.publicKey.export({ format: 'pem', type: 'spki' }).toString()), /not an Ed25519 public key/],
    ['an RSA private key', () => seedFromPem(rsa.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()), /not an Ed25519 private key/],
    ['a private key given as public', () => publicKeyFromPem(seedToPem(randomBytes(32))), /found "PRIVATE KEY"/],
    ['a public key given as private', () => seedFromPem(publicKeyToPem(new Uint8Array(32))), /found "PUBLIC KEY"/],
    ['no PEM at all', () => publicKeyFromPem('hello'), /no PEM "PUBLIC KEY" block/],
    ['a truncated body', () => publicKeyFromPem('-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n'), /not an Ed25519/],
  ])('refuses %s', (_what, f, msg) => {
    expect(f).toThrow(BadInputError);
    expect(f).toThrow(msg);
  });
});
