import { BadInputError } from '../core/errors.js';

const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

/** True when s is a well-formed `sha256:<64 lowercase hex>` digest. */
export function isDigest(s: unknown): s is string {
  return typeof s === 'string' && DIGEST_RE.test(s);
}

/** Returns d when it is a valid sha256 digest, else throws: a digest is never used as a path unchecked. */
export function checkDigest(d: unknown, what = 'digest'): string {
  if (!isDigest(d)) throw new BadInputError(`invalid ${what} ${JSON.stringify(d)}`, { hint: 'only sha256 digests in lowercase hex are accepted' });
  return d;
}

/** The hex part of a validated digest. */
export function digestHex(d: string): string {
  return checkDigest(d).slice(7);
}
