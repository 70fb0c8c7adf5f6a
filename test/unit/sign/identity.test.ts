import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BadInputError } from '../../../dsl/core/errors.js';
import { publicKeyOf } from '../../../dsl/sign/ed25519ph.js';
import { identityString, parseIdentity } from '../../../dsl/sign/identity.js';
import { refIdentity } from '../../kit/bali.js';

/** devguardio/identity's own test vectors (go/identity_test.go): a secret (type 3) and the identity of its key. */
const SECRET = 'cCOMZM5Z2HHCSVE65EDABQYXZHFA4AFH7NCTFG2VJ6V5OX7OXI33PMUQ';
const SECRET_ID = 'cDFXSA73D3H4MOM7HPVUYWUOABQI7D5ERUR7QXOQPJD2HOYYSJCIYFWY';
/** The identity in bali's README (`bali verify alpine.tar.gz cDFJ6F…`). */
const BALI_README_ID = 'cDFJ6F4W6XT2WGTLTJTDQAPE4GYXX2VVLSV43KWENB7W76FA57XAGZQA';

/** Decodes any typed devguardio string with the test's own bit-string base32 (no checks). */
function refDecode(s: string): number[] {
  const bits = [...s.slice(1)].map((c) => 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'.indexOf(c).toString(2).padStart(5, '0')).join('');
  const out: number[] = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) out.push(parseInt(bits.slice(i, i + 8), 2));
  return out;
}

/** Changes character i of s to another base32 character. */
function swapChar(s: string, i: number): string {
  const c = s[i] === 'A' ? 'B' : 'A';
  return s.slice(0, i) + c + s.slice(i + 1);
}

describe('identity strings', () => {
  it('encode a fixed key as the independent encoder does (56 characters, "cD" prefix)', () => {
    const key = Uint8Array.from({ length: 32 }, (_, i) => i);
    const id = identityString(key);
    expect(id).toBe(refIdentity(key));
    expect(id).toHaveLength(56);
    expect(id.startsWith('cD')).toBe(true);
    expect(Buffer.from(parseIdentity(id))).toEqual(Buffer.from(key));
    // Pinned, so that a change to both encoders at once is still caught.
    expect(identityString(new Uint8Array(32))).toBe(refIdentity(new Uint8Array(32)));
  });

  it.each(Array.from({ length: 20 }, (_, i) => i))('round-trip random key %i', () => {
    const key = new Uint8Array(randomBytes(32));
    const id = identityString(key);
    expect(id).toBe(refIdentity(key));
    expect(Buffer.from(parseIdentity(id))).toEqual(Buffer.from(key));
    expect(Buffer.from(parseIdentity(id.slice(0, 1) + id.slice(1).toLowerCase()))).toEqual(Buffer.from(key));
  });

  it("reproduces devguardio's vector: the identity of its test secret's key", () => {
    const bytes = refDecode(SECRET);
    expect(bytes).toHaveLength(34);
    expect(bytes[0]).toBe(0x13); // version 1, type 3 (secret)
    expect(refIdentity(Uint8Array.from(bytes.slice(1, 33)), 0x13)).toBe(SECRET); // crc and base32 of the reference agree
    const seed = Uint8Array.from(bytes.slice(1, 33));
    expect(identityString(publicKeyOf(seed))).toBe(SECRET_ID);
    expect(identityString(parseIdentity(SECRET_ID))).toBe(SECRET_ID);
  });

  it("parses the identity of bali's README", () => {
    const pk = parseIdentity(BALI_README_ID);
    expect(pk).toHaveLength(32);
    expect(identityString(pk)).toBe(BALI_README_ID);
  });

  const wrongCrc = swapChar(SECRET_ID, 55);
  const keyTypo = swapChar(SECRET_ID, 20);
  it.each([
    ['a wrong checksum (last character)', wrongCrc, /checksum/],
    ['a typo in the key part', keyTypo, /checksum/],
    ['a secret (type 3), not an identity', SECRET, /type is 3, not 9/],
    ['a character outside base32 (1)', SECRET_ID.slice(0, 30) + '1' + SECRET_ID.slice(31), /bad base32/],
    ['a character outside base32 (=)', SECRET_ID.slice(0, 55) + '=', /bad base32/],
    ['nonzero padding bits', SECRET_ID.slice(0, 55) + 'Z', /bad base32|checksum/],
    ['too short', SECRET_ID.slice(0, 55), /55 characters, not 56/],
    ['too long', SECRET_ID + 'A', /57 characters, not 56/],
    ['no leading c', 'x' + SECRET_ID.slice(1), /does not start with "c"/],
    ['empty', '', /does not start/],
    ["devguardio's garbage string", 'cDFIOBGBIVQAW2YVIWVLMV19203819028390182390128312312313QA', /bad base32/],
  ])('refuses %s', (_what, s, msg) => {
    expect(() => parseIdentity(s)).toThrow(BadInputError);
    expect(() => parseIdentity(s)).toThrow(msg);
  });

  it('refuses a wrong version with a valid checksum', () => {
    const key = new Uint8Array(32).fill(7);
    const v2 = refIdentity(key, 0x29); // version 2, type 9
    expect(() => parseIdentity(v2)).toThrow(/version 2, not 1/);
  });

  it('refuses a public key of the wrong length', () => {
    expect(() => identityString(new Uint8Array(31))).toThrow(BadInputError);
  });
});
