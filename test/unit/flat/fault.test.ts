import { rmSync } from 'node:fs';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignatureError } from '../../../dsl/core/errors.js';
import { requireTrusted, TRAILER_SIZE, verifyStream, type Verdict } from '../../../dsl/flat/trailer.js';
import type { PublicKey } from '../../../dsl/sign/keys.js';
import { signatureHint } from '../../../dsl/sign/policy-judge.js';
import { baliKey, flatTarball, tmp, type BaliKey, type Flat } from '../../kit/bali.js';

/*
 * A verdict's fault: the one field code compares (flat/judge.ts, the hints), never the reason's text. Each
 * case checks that the fault agrees with the reason people read.
 */

const asPub = (k: BaliKey): PublicKey => ({ publicKey: k.publicKey, id: k.id, source: 'test' });
const flip = (b: Buffer, i: number, mask = 0x01): Buffer => {
  const c = Buffer.from(b);
  c[i] ^= mask;
  return c;
};

let dir: string;
let key: BaliKey;
let plain: Flat;
beforeAll(async () => {
  dir = tmp();
  key = baliKey();
  plain = await flatTarball(dir, 'signed.tar', { key, gzip: false });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const verify = (b: Buffer, keys: PublicKey[]): Promise<Verdict> => verifyStream(Readable.from([b]), keys);

describe('Verdict.fault', () => {
  const T = (f: Flat): number => f.plain.length - TRAILER_SIZE;
  const cases: [string, (f: Flat) => Buffer, 'key' | 'none', string, RegExp][] = [
    ['no trailer', (f) => f.tar, 'key', 'unsigned', /^unsigned$/],
    ['an empty file', () => Buffer.alloc(0), 'key', 'unsigned', /^unsigned: the file is empty$/],
    ['not a tar', () => Buffer.from('hello, this is no archive'), 'key', 'not-tar', /^not a tar or gzip file$/],
    ['a trailer cut short', (f) => f.plain.subarray(0, f.plain.length - 1), 'key', 'tampered', /^tampered: /],
    ['a malformed signature', (f) => flip(f.plain, f.plain.length - 1, 0xf0), 'key', 'tampered', /^tampered: /],
    ['malformed trailer padding', (f) => flip(f.plain, T(f) + 2), 'key', 'tampered', /^tampered: /],
    ['a changed file', (f) => flip(f.plain, f.tar.length >> 1), 'key', 'unknown-signer', /^unknown signer or tampered: /],
    ['no key to check against', (f) => f.plain, 'none', 'unknown-signer', /^unknown signer or tampered: no key/],
  ];
  it.each(cases)('%s → %s', async (_n, change, keys, fault, reason) => {
    const v = await verify(change(plain), keys === 'key' ? [asPub(key)] : []);
    expect(v.valid).toBe(false);
    expect(v.fault).toBe(fault);
    expect(v.reason).toMatch(reason);
    // signed is true exactly when a trailer is there: unsigned and not-tar files have none.
    expect(v.signed).toBe(fault === 'tampered' || fault === 'unknown-signer');
    let err: unknown;
    try {
      requireTrusted(v, 'F');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SignatureError);
    expect((err as SignatureError).hint).toBe(signatureHint(v.fault));
  });

  it('a valid signature has no fault', async () => {
    const v = await verify(plain.plain, [asPub(key)]);
    expect(v).toMatchObject({ valid: true });
    expect(v.fault).toBeUndefined();
  });

  it('each fault has its own hint', () => {
    const hints = (['unsigned', 'tampered', 'unknown-signer', 'not-tar'] as const).map(signatureHint);
    expect(new Set(hints).size).toBe(4);
    expect(signatureHint(undefined)).toBe(signatureHint('unsigned'));
  });
});
