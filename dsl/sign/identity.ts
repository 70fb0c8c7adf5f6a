import { BadInputError } from '../core/errors.js';

/*
 * bali (devguardio/identity) identity strings: "c" + RFC 4648 base32 (A-Z2-7, no padding) of
 *   [0x19 = version 1 << 4 | type 9 (Identity)] ‖ 32-byte Ed25519 public key ‖ crc8
 * which is 34 bytes → 55 base32 characters → 56 characters in all.
 */

const HEAD = 0x19;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const LEN = 56;

/** devguardio's crc8 table: crc = TABLE[crc ^ byte], from 0, with no final xor. */
const CRC8 = Buffer.from(
  'ead496a8122c6e507f41033d87b9fbc5a59bd9e75d63211f300e4c72c8f6b48a' +
  '744a08368cb2f0cee1df9da31927655b3b054779c3fdbf81ae90d2ec56682a14' +
  'b38dcff14b75370926185a64dee0a29cfcc280be043a78466957152b91afedd3' +
  '2d13516fd5eba997b886c4fa407e3c02625c1e209aa4e6d8f7c98bb50f31734d' +
  '5866241aa09edce2cdf3b18f350b497717296b55efd193ad82bcfec07a440638' +
  'c6f8ba843e00427c536d2f11ab95d7e989b7f5cb714f0d331c22605ee4da98a6' +
  '013f7d43f9c785bb94aae8d66c52102e4e70320cb688caf4dbe5a799231d5f61' +
  '9fa1e3dd67591b250a347648f2cc8eb0d0eeac922816546a457b3907bd83c1ff' +
  '', 'hex');

/** crc8 of devguardio/identity over bytes. */
export function crc8(bytes: Uint8Array): number {
  let crc = 0;
  for (const b of bytes) crc = CRC8[crc ^ b];
  return crc;
}

/** RFC 4648 base32, no padding. */
function base32(bytes: Uint8Array): string {
  let out = '';
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += ALPHABET[(acc >>> bits) & 31];
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) out += ALPHABET[(acc << (5 - bits)) & 31];
  return out;
}

/** Decodes unpadded RFC 4648 base32; undefined for a character outside the alphabet or nonzero trailing bits. */
function unbase32(s: string): Uint8Array | undefined {
  const out: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const ch of s) {
    const v = ALPHABET.indexOf(ch);
    if (v < 0) return undefined;
    acc = ((acc << 5) | v) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((acc >>> bits) & 0xff);
    }
  }
  if (bits >= 5 || (acc & ((1 << bits) - 1)) !== 0) return undefined;
  return Uint8Array.from(out);
}

/** The bali identity string ("c…", 56 characters) of a 32-byte Ed25519 public key. */
export function identityString(publicKey: Uint8Array): string {
  if (publicKey.length !== 32) throw new BadInputError(`an Ed25519 public key is 32 bytes, not ${publicKey.length}`);
  const bytes = new Uint8Array(34);
  bytes[0] = HEAD;
  bytes.set(publicKey, 1);
  bytes[33] = crc8(bytes.subarray(0, 33));
  return 'c' + base32(bytes);
}

/** True when s has the shape of an identity string (a "c" and 55 base32 characters), valid or not. */
export function looksLikeIdentity(s: string): boolean {
  return s.length === LEN && /^c[A-Za-z2-7]{55}$/.test(s);
}

/** The 32-byte public key of a bali identity string; BadInputError saying what is wrong. */
export function parseIdentity(s: string): Uint8Array {
  const hint = 'an identity is "c" followed by 55 base32 characters, as `cairn key show --json` or bali print it';
  const shown = s.length > 60 ? s.slice(0, 57) + '…' : s;
  if (!s.startsWith('c')) throw new BadInputError(`${JSON.stringify(shown)} is not an identity string: it does not start with "c"`, { hint });
  if (s.length !== LEN) throw new BadInputError(`${JSON.stringify(shown)} is not an identity string: it has ${s.length} characters, not ${LEN}`, { hint });
  const bytes = unbase32(s.slice(1).toUpperCase());
  if (!bytes || bytes.length !== 34) throw new BadInputError(`${JSON.stringify(shown)} is not an identity string: bad base32`, { hint });
  if (bytes[0] >> 4 !== 1) throw new BadInputError(`identity ${shown} has version ${bytes[0] >> 4}, not 1`, { hint });
  if ((bytes[0] & 15) !== 9) throw new BadInputError(`${shown} is not a public identity: its type is ${bytes[0] & 15}, not 9`, { hint: 'give the public identity (type 9), never a secret' });
  if (crc8(bytes.subarray(0, 33)) !== bytes[33]) throw new BadInputError(`identity ${shown} has a wrong checksum (a typo?)`, { hint });
  return bytes.slice(1, 33);
}
