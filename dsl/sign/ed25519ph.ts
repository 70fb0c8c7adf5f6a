import { ed25519 } from '@noble/curves/ed25519.js';
import { eddsa } from '@noble/curves/abstract/edwards.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { seedToDer } from './pem.js';

/*
 * A command signs or verifies once or a few times, so the base point gets a small precomputed table: noble's
 * default (8-bit windows, 4,224 points) costs a first signature or verification about 50 ms to build, more than
 * the table saves; 2-bit windows build in about 1 ms, and each operation then costs the same few ms.
 */
ed25519.Point.BASE.precompute(2, true);

/** RFC 8032 dom2(phflag, context): the prefix that separates Ed25519ph from plain Ed25519. */
function dom2(data: Uint8Array, ctx: Uint8Array, phflag: boolean): Uint8Array {
  if (ctx.length > 255) throw new Error('Ed25519 context is longer than 255 bytes');
  const tag = new TextEncoder().encode('SigEd25519 no Ed25519 collisions');
  const out = new Uint8Array(tag.length + 2 + ctx.length + data.length);
  out.set(tag, 0);
  out[tag.length] = phflag ? 1 : 0;
  out[tag.length + 1] = ctx.length;
  out.set(ctx, tag.length + 2);
  out.set(data, tag.length + 2 + ctx.length);
  return out;
}

/** RFC 8032 scalar clamping (what @noble/curves applies for ed25519). */
function clamp(b: Uint8Array): Uint8Array {
  b[0] &= 248;
  b[31] &= 127;
  b[31] |= 64;
  return b;
}

/**
 * Ed25519ph whose "prehash" is the identity: the caller hands in PH(M) = SHA-512(M), computed while
 * streaming, so a multi-gigabyte tarball never has to sit in memory. Same bytes as noble's ed25519ph.
 * Verification is strict RFC 8032 (zip215 off), as Go's crypto/ed25519 that bali uses.
 */
const ph = eddsa(ed25519.Point, sha512, { adjustScalarBytes: clamp, domain: dom2, prehash: (m: Uint8Array) => m, zip215: false });

const enc = new TextEncoder();

function checkDigest(sha512: Uint8Array): void {
  if (!(sha512 instanceof Uint8Array) || sha512.length !== 64) throw new TypeError('Ed25519ph needs a 64-byte SHA-512 digest');
}

/** Signs a precomputed SHA-512 digest with Ed25519ph (context 'bali' by default): 64 bytes. */
export function signPrehashed(sha512: Uint8Array, seed: Uint8Array, context = 'bali'): Uint8Array {
  checkDigest(sha512);
  return ph.sign(sha512, seed, { context: enc.encode(context) });
}

/** True when sig is a valid Ed25519ph signature (context 'bali' by default) of the digest by publicKey. */
export function verifyPrehashed(sig: Uint8Array, sha512: Uint8Array, publicKey: Uint8Array, context = 'bali'): boolean {
  checkDigest(sha512);
  if (sig.length !== 64 || publicKey.length !== 32) return false;
  try {
    return ph.verify(sig, sha512, publicKey, { context: enc.encode(context) });
  } catch {
    return false;
  }
}

/** The 32-byte Ed25519 public key of a 32-byte seed (RFC 8032 private key), derived by Node.js's OpenSSL. */
export function publicKeyOf(seed: Uint8Array): Uint8Array {
  if (seed.length !== 32) throw new TypeError('an Ed25519 seed is 32 bytes');
  const jwk = createPublicKey(createPrivateKey({ key: seedToDer(seed), format: 'der', type: 'pkcs8' })).export({ format: 'jwk' });
  return new Uint8Array(Buffer.from(jwk.x!, 'base64url'));
}

/**
 * True when sig could be an Ed25519 signature at all: R decodes to a curve point and S < L. No honest
 * signer makes anything else, so a malformed signature means the bytes were changed.
 */
export function signatureWellFormed(sig: Uint8Array): boolean {
  if (sig.length !== 64) return false;
  try {
    ed25519.Point.fromBytes(sig.subarray(0, 32), false);
  } catch {
    return false;
  }
  let s = 0n;
  for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(sig[i]);
  return s < ed25519.Point.Fn.ORDER;
}
